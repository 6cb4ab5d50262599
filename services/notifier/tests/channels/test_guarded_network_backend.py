"""The address guard on its own: which addresses it checks and which it connects to."""

from collections.abc import Iterable

import httpcore
import pytest

from notifier.channels.webhook import BlockedAddressError, GuardedNetworkBackend


class RecordingBackend(httpcore.AsyncNetworkBackend):
    """Stands in for the socket layer: records connects, refuses the listed addresses."""

    def __init__(self, *, unreachable: Iterable[str] = ()) -> None:
        self.connects: list[str] = []
        self._unreachable = set(unreachable)

    async def connect_tcp(
        self, host: str, port: int, *args: object, **kwargs: object
    ) -> httpcore.AsyncNetworkStream:
        self.connects.append(host)
        if host in self._unreachable:
            raise httpcore.ConnectError(f"{host} unreachable")
        return httpcore.AsyncMockStream([])


def guarded(
    *addresses: str, unreachable: Iterable[str] = ()
) -> tuple[GuardedNetworkBackend, RecordingBackend]:
    async def resolve(host: str, port: int) -> list[str]:
        return list(addresses)

    inner = RecordingBackend(unreachable=unreachable)
    backend = GuardedNetworkBackend(allow_private_addresses=False, resolve=resolve, inner=inner)
    return backend, inner


async def test_connects_to_the_address_it_checked_not_to_the_name() -> None:
    backend, inner = guarded("93.184.216.34")

    await backend.connect_tcp("hooks.example", 443)

    assert inner.connects == ["93.184.216.34"]


@pytest.mark.parametrize("private", ["10.0.0.7", "169.254.169.254", "::1", "fd00::1"])
async def test_one_private_answer_among_public_ones_refuses_the_host(private: str) -> None:
    backend, inner = guarded("93.184.216.34", private)

    with pytest.raises(BlockedAddressError, match=private):
        await backend.connect_tcp("rebinding.example", 443)

    assert inner.connects == []


async def test_falls_through_to_the_next_checked_address() -> None:
    backend, inner = guarded("93.184.216.34", "1.1.1.1", unreachable=["93.184.216.34"])

    await backend.connect_tcp("hooks.example", 443)

    assert inner.connects == ["93.184.216.34", "1.1.1.1"]


async def test_no_address_is_a_connect_error() -> None:
    backend, _ = guarded()

    with pytest.raises(httpcore.ConnectError):
        await backend.connect_tcp("nothing.example", 443)


async def test_allowing_private_addresses_leaves_resolution_to_the_socket_layer() -> None:
    inner = RecordingBackend()
    backend = GuardedNetworkBackend(allow_private_addresses=True, inner=inner)

    await backend.connect_tcp("localhost", 8080)

    assert inner.connects == ["localhost"]
