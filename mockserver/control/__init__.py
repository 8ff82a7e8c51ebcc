"""The control plane: the `/__mock` API and what it steers, apart from the request engine.

- `_plane`: the control API (its spec: `control.yaml`), state snapshots and `--state-file`, health;
- `_journal`: the request journal; `_faults`: fault rules; `_prefer`: Prism-style `Prefer`;
- `_runtime`: what every served API shares (journal, faults, latency, the session limit);
- `_clock`: mock time, one `Timeline` (clock and schedule of due work) per state.

The engine imports these modules directly (the control API itself serves through the engine), so this
package imports none of them.
"""

__all__: list[str] = []
