"""Audio editing and export: pure functions over numpy arrays and files (no DB, no web, no torch).

- `edl`: the typed, validated edit decision list of a song (JSON round trip).
- `timeline`: where each EDL item lands, in samples (shared by rendering and durations).
- `render`: EDL → stereo float32 audio; zero-crossing snapping.
- `align`: onset envelopes, lane auto-alignment, mono-sum cancellation check.
- `loudness`, `limiter`, `master`: album loudness, true peak, limiting, dither, writers, checks.
- `package`: tags (mutagen), safe names and the release zip.
"""
