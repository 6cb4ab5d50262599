"""The ``notice.published`` the benchmarks send: valid for the contract, cheap to make."""

import uuid
from datetime import UTC, datetime

from notices_contracts import NoticePublishedV1

BENCH_AUTHOR = uuid.UUID(int=1)


def benchmark_notice(*, recipient_ids: list[uuid.UUID], category: str) -> NoticePublishedV1:
    notice_id, now = uuid.uuid4(), datetime.now(UTC)
    return NoticePublishedV1(
        notice_id=notice_id,
        version=1,
        title="Benchmark notice",
        summary="Sent by a benchmark.",
        category=category,
        urgent=False,
        published_at=now,
        visible_from=now,
        visible_until=None,
        author_id=BENCH_AUTHOR,
        recipient_ids=recipient_ids,
        group_ids=[],
        remind_after_seconds=None,
        url=f"https://notices.example/{notice_id}",
    )
