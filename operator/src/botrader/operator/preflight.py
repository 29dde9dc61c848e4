"""Before Kopf starts with peering: is there a peering object to meet in? Without one Kopf
waits, silently, for minutes; a new user installing without Helm had no way to know why. This
names what is missing and the two ways out, in one line."""

from __future__ import annotations

from collections.abc import Callable, Sequence

PEERING = "botrader"  # the (Cluster)KopfPeering object the chart creates
GROUP = "/apis/kopf.dev/v1"
FIX = (
    "kubectl apply -f examples/operator-peering.yaml (the Helm chart creates it), "
    "or run one replica with --standalone"
)


def peering_problem(status_of: Callable[[str], int], namespaces: Sequence[str] | None) -> str | None:
    """`status_of(path)` is the HTTP status of a GET. None when the peering objects exist (or
    the server's answer is something Kopf will report better itself: 403, a network error)."""
    if status_of(GROUP) == 404:
        return (
            "the cluster serves no Kopf peering resources (kopf.dev/v1): "
            "kubectl apply -f crds/kopf.dev_peerings.yaml, then " + FIX
        )
    if not namespaces:
        if status_of(f"{GROUP}/clusterkopfpeerings/{PEERING}") == 404:
            return f"no ClusterKopfPeering {PEERING!r} for the operators to meet in: {FIX}"
        return None
    missing = [ns for ns in namespaces if status_of(f"{GROUP}/namespaces/{ns}/kopfpeerings/{PEERING}") == 404]
    if missing:
        where = ", ".join(missing)
        return f"no KopfPeering {PEERING!r} in namespace(s) {where}: create one in each, or --standalone"
    return None


def api_status(path: str) -> int:
    """The HTTP status of GET `path` with the operator's credentials (kubeconfig or in-cluster),
    through the same client the handlers use; 0 when the server cannot be reached."""
    import asyncio

    import aiohttp

    from botrader.operator.apply import ApiError, Applier, close_sessions, load_credentials

    async def get() -> int:
        try:
            await Applier()._call("GET", path)
        except ApiError as exc:
            return exc.status
        except (aiohttp.ClientError, OSError, TimeoutError):
            return 0  # unreachable, TLS: Kopf says it better
        finally:
            await close_sessions()
        return 200

    load_credentials()
    return asyncio.run(get())
