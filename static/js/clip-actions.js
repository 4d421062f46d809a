// The clip editor's "Generate more…" (from the clip's epoch) and "Delete…" (asks first).
import { confirmDelete, deleteByUrl } from "./deletion.js";
import { openGenerate } from "./generate-more.js";
import { pageData } from "./keys.js";

const data = pageData();
const clip = data.clip;
document.getElementById("clip-generate")?.addEventListener("click", () => openGenerate(
  { checkpointId: clip.checkpoint_id, epoch: clip.epoch, runId: clip.run_id, projectId: data.project_id },
  { seconds: clip.duration_s, temperature: clip.temperature }));
document.getElementById("clip-delete")?.addEventListener("click", async () => {
  const removed = await confirmDelete(`clip #${clip.id}`, deleteByUrl(`/api/v1/clips/${clip.id}`));
  if (!removed) return;
  const next = document.querySelector("[data-next]")?.href || document.querySelector("[data-prev]")?.href;
  location.href = next || `/projects/${data.project_id}/clips`;
});
