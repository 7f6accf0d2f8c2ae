"""What the Python clients (python_client.py, cent_client.py) and run.py share: the HUB_*
settings run.py hands over, HS256 token minting with the hub's secret (the standard library's
hmac, so the harness does not depend on the JWT library it is checked against), the server API
over plain HTTP, an event inbox to wait on "the next event" in order, SDK event handlers that
queue into inboxes, and the check runner that prints `plan` / `ok` / `FAIL` lines for run.py.
"""
import asyncio
import base64
import hashlib
import hmac
import json
import os
import secrets
import sys
import time
import traceback

STEP = 5.0  # seconds to wait for any one event or reply


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def mint_token(secret: str, claims: dict) -> str:
    """An HS256 JWT over `claims`, signed with `secret`."""
    head = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = b64url(json.dumps(claims, separators=(",", ":")).encode())
    sig = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64url(sig)}"


class Settings:
    """The HUB_* environment variables run.py sets. Secrets travel there, not in argv."""

    def __init__(self):
        missing = [n for n in ("HUB_WS_URL", "HUB_API_URL", "HUB_API_KEY", "HUB_SECRET")
                   if not os.environ.get(n)]
        if missing:
            print(f"FAIL setup: {', '.join(missing)} not set (run this through tests/hub/run.py)",
                  flush=True)
            sys.exit(2)
        self.ws_url = os.environ["HUB_WS_URL"]
        self.api_url = os.environ["HUB_API_URL"]
        self.api_key = os.environ["HUB_API_KEY"]
        self.secret = os.environ["HUB_SECRET"]
        self.tag = os.environ.get("HUB_TAG") or f"t{secrets.token_hex(3)}"
        self.recovery_count = int(os.environ.get("HUB_RECOVERY_COUNT", "1000"))

    def token(self, user: str, ttl: float = 600, **claims) -> str:
        return mint_token(self.secret, {"sub": user, "exp": int(time.time() + ttl), **claims})


class ApiError(Exception):
    """A server API reply with `error` (code and message), or an HTTP failure (code 0)."""

    def __init__(self, method, code, message):
        super().__init__(f"server API {method}: error {code}: {message}")
        self.code = code


class Api:
    """POST <api_url>/<method> with X-API-Key over one keep-alive aiohttp session (aiohttp is
    what cent's async client uses, so it is in the venv anyway)."""

    def __init__(self, api_url, api_key):
        import aiohttp  # imported here: run.py --self-test loads this module without the venv

        self._url = api_url
        self._session = aiohttp.ClientSession(headers={"X-API-Key": api_key})

    async def __call__(self, method, body):
        import aiohttp

        try:
            async with self._session.post(f"{self._url}/{method}", json=body,
                                          timeout=aiohttp.ClientTimeout(total=STEP)) as resp:
                text = await resp.text()
                status = resp.status
        except (aiohttp.ClientError, asyncio.TimeoutError) as e:
            raise ApiError(method, 0, f"{type(e).__name__}: {e}") from None
        if status != 200:
            raise ApiError(method, 0, f"HTTP {status} {text[:200]}")
        try:
            reply = json.loads(text)
        except ValueError:
            raise ApiError(method, 0, f"not JSON: {text[:200]}") from None
        if reply.get("error"):
            raise ApiError(method, reply["error"].get("code"), reply["error"].get("message"))
        return reply.get("result") or {}

    async def close(self):
        await self._session.close()


class Inbox:
    """Events of one kind, queued so a check can wait for the next one (in order)."""

    def __init__(self, label):
        self.label = label
        self.items = []
        self._changed = asyncio.Event()

    def put(self, item):
        self.items.append(item)
        self._changed.set()

    async def next(self, pred=lambda _: True, timeout=STEP, what=None):
        deadline = time.monotonic() + timeout
        while True:
            while self.items:
                item = self.items.pop(0)
                if pred(item):
                    return item
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{what or self.label}: nothing within {timeout:g} s")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), left)
            except asyncio.TimeoutError:
                pass

    async def take(self, n, timeout=STEP, what=None):
        out = []
        for i in range(n):
            try:
                out.append(await self.next(timeout=timeout, what=what))
            except AssertionError as e:
                raise AssertionError(f"{e} (after {i} of {n})") from None
        return out

    async def none(self, seconds, what=None):
        """Fails if anything arrives within `seconds` (a duplicate, a stray event)."""
        await asyncio.sleep(seconds)
        if self.items:
            raise AssertionError(f"{what or self.label}: unexpected {short(self.items[0])} "
                                 f"({len(self.items)} in all)")


def inbox_handlers(*names):
    """A base class for a centrifuge-python event handler, listed before the SDK's class
    (ClientEventHandler, SubscriptionEventHandler) so that its `on_<name>(ctx)` for each of
    `names` replaces the SDK's no-op and queues ctx in `self.inbox[name]`, an Inbox labelled
    `<name><suffix>` (`suffix` is the constructor's argument)."""

    def queue(name):
        async def on_event(self, ctx):
            self.inbox[name].put(ctx)

        on_event.__name__ = f"on_{name}"
        return on_event

    def __init__(self, suffix=""):
        self.inbox = {n: Inbox(f"{n}{suffix}") for n in names}

    return type("InboxHandlers", (), {"__init__": __init__, **{f"on_{n}": queue(n) for n in names}})


def short(v, n=160):
    s = repr(v)
    return s if len(s) <= n else s[: n - 3] + "..."


def expect_eq(got, want, what):
    if got != want:
        raise AssertionError(f"{what}: expected {short(want)}, got {short(got)}")


def parse_args(names, argv=None):
    """`--only CHECK` and flags; exits 2 on an unknown check."""
    argv = sys.argv[1:] if argv is None else argv
    only = None
    if "--only" in argv:
        i = argv.index("--only")
        only = argv[i + 1] if i + 1 < len(argv) else ""
        if only not in names:
            print(f"FAIL setup: unknown check {only!r}; checks: {', '.join(names)}", flush=True)
            sys.exit(2)
    return only, set(a for a in argv if a.startswith("--") and a != "--only")


async def run_checks(checks, only, cleanup):
    """Runs `checks` (name -> async fn) in order, or only `only`; prints a line per check and
    calls `cleanup()` after each. Returns the number of failures."""
    names = [n for n in checks if only in (None, n)]
    for name in names:
        print(f"plan {name}", flush=True)
    failed = 0
    for name in names:
        t0 = time.monotonic()
        try:
            await checks[name]()
            print(f"ok   {name} ({(time.monotonic() - t0) * 1000:.0f} ms)", flush=True)
        except AssertionError as e:
            failed += 1
            print(f"FAIL {name}: {e}", flush=True)
        except Exception as e:  # an SDK or API error is a failure of this check, not a crash
            failed += 1
            where = traceback.extract_tb(e.__traceback__)[-1]
            print(f"FAIL {name}: {type(e).__name__}: {e} "
                  f"(at {os.path.basename(where.filename)}:{where.lineno})", flush=True)
        finally:
            try:
                await cleanup()
            except Exception as e:
                print(f"info cleanup after {name}: {type(e).__name__}: {e}", flush=True)
    return failed


async def run_client(who, checks, only, clients, close):
    """run_checks() with the SDK clients each check appended to `clients` disconnected after it,
    then `close()` (the API client's); prints `<who>: all checks passed` or how many failed and
    returns the exit code."""

    async def cleanup():
        for c in clients:
            try:
                await asyncio.wait_for(c.disconnect(), 2)
            except Exception:
                pass
        clients.clear()

    try:
        failed = await run_checks(checks, only, cleanup)
    finally:
        await close()
    print(f"{who}: {failed} check(s) failed" if failed else f"{who}: all checks passed", flush=True)
    return 1 if failed else 0
