"""Command-line options shared by `albumbot train` and `albumbot bench`: the network's shape."""

from __future__ import annotations

import argparse
from typing import Any

# flag dest -> SampleRNNConfig field
MODEL_FLAGS = {
    "cell": "cell", "dim": "dim", "layers": "n_rnn", "frame_sizes": "frame_sizes",
    "embed_size": "embed_size", "mlp_layers": "mlp_layers", "q_levels": "q_levels",
    "quantization": "quantization", "sample_rate": "sample_rate",
}


def add_model_flags(g: argparse._ArgumentGroup) -> None:
    g.add_argument("--cell", choices=["gru", "lstm"], help="RNN cell")
    g.add_argument("--dim", type=int, help="RNN and MLP width")
    g.add_argument("--layers", type=int, help="RNN layers per frame tier")
    g.add_argument("--frame-sizes", "--frame-size", dest="frame_sizes", type=int, nargs="+",
                   metavar="F", help="frame sizes bottom-up: 16 (2 tiers) or 16 4 (3 tiers)")
    g.add_argument("--embed-size", type=int, help="sample embedding size of the MLP")
    g.add_argument("--mlp-layers", type=int, help="hidden dim x dim layers of the MLP")
    g.add_argument("--q-levels", type=int, help="quantization levels")
    g.add_argument("--quantization", choices=["linear", "mulaw"], help="quantization curve")
    g.add_argument("--sample-rate", type=int, choices=[16000, 32000],
                   help="sample rate of the model")


def changed_fields(args: argparse.Namespace, flags: dict[str, str]) -> dict[str, Any]:
    """Config fields the user set on the command line (flags left out stay None)."""
    out = {}
    for dest, name in flags.items():
        value = getattr(args, dest, None)
        if value is not None:
            out[name] = tuple(value) if isinstance(value, list) else value
    return out
