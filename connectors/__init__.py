"""Platform connectors: what brings a livestream's comments into chotdon and its messages out
(`chotdon connect`, README "Connecting a shop's live").

| module | holds |
|---|---|
| `sources/` | one pure adapter per platform payload -> `Comment`s (also `chotdon ingest`) |
| `live.py` | a reader's context, the polling loop, gap reports, how a reader ends |
| `facebook.py` | the live video reader (SSE + Graph catch-up, or Graph), hiding phones |
| `pollers.py` | YouTube live chat, Shopee Live comments (signed), the TikTok room feed |
| `webhook.py` | the Facebook Page webhook receiver (verification, X-Hub-Signature-256) |
| `sink.py` | Kafka first, then the cursor: producing a live's comments, dedupe, cursors in Redis |
| `outbound.py` | the sender of `chotdon.messages.outbound`, at most once per message |
| `http.py` | requests with backoff and jitter, platform answers classified |
| `service.py` | all of them in one process, secrets from the environment |
| `metrics.py` | their Prometheus metrics |

Redis keys: a reader's cursor is `chotdon:{<shop>:<livestream>}:connector:<platform>` (the
livestream's hash tag), the sender's delivery records `chotdon:{<shop>}:delivery` (the shop's).
"""
