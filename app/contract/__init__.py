"""The typed contract between the web app and the workers (torch-free).

- `kinds`: every job kind named once (kind, Celery task, queue, payload type);
- `payloads`: one frozen, versioned payload dataclass per kind;
- `plan`: `RunPlan`, a run's resolved config (`Run.config`);
- `queues`: the queue names; `codec`: checked JSON (de)serialisation of all of these.
"""
