"""The notifier benchmark's report: each figure beside its raw baseline, goals judged.

No speed is asserted here: the figures are made up, only their reading is tested.
"""

from typing import Any

from bench.notifier.bench_notifier import goals, ratios, report


def _results(**figures: float) -> dict[str, Any]:
    results: dict[str, Any] = {
        "recipients": 10_000,
        "settings": {
            "prefetch": 32,
            "email_concurrency": 8,
            "webhook_concurrency": 32,
            "database": "postgresql",
        },
        "baseline_consume_ack_per_second": 3500.0,
        "baseline_consume_ack_measures": "one FastStream subscriber alone, prefetch 256",
        "ledger_seconds_handler": 0.9,
        "ledger_seconds_via_broker": 1.1,
        "emails_per_second_fake_channel": 2000.0,
        "baseline_aiosmtplib_per_second": 1000.0,
        "baseline_aiosmtplib_mail_bytes": 1500,
        "emails_per_second": 600.0,
        "emails_per_second_cpu_ms": 1.25,
        "emails_per_second_fake_channel_cpu_ms": 0.5,
        "webhooks_per_second_cpu_ms": 0.75,
        "baseline_httpx_per_second": 1200.0,
        "webhooks_per_second": 900.0,
        "load_average": "1.0 1.0 1.0",
        **figures,
    }
    results["ratios"] = ratios(results)
    results["goals"] = goals(results)
    return results


def test_each_goal_is_judged_from_its_figure() -> None:
    verdicts = {row["goal"]: row["met"] for row in _results()["goals"]}
    assert verdicts == {
        "ledger rows of 10,000 recipients < 1 s (handler transaction)": True,
        ">= 500 emails/s per process": True,
        "email >= 0.7x raw aiosmtplib": False,  # 600 beside 1,000
        ">= 1,000 webhooks/s per process": False,
        "webhooks >= 0.7x raw httpx": True,  # 900 beside 1,200
    }


def test_a_ratio_at_its_floor_is_met() -> None:
    results = _results(emails_per_second=700.0, ledger_seconds_handler=1.0)
    verdicts = {row["goal"]: row["met"] for row in results["goals"]}
    assert verdicts["email >= 0.7x raw aiosmtplib"] is True
    assert verdicts["ledger rows of 10,000 recipients < 1 s (handler transaction)"] is False


def test_the_report_puts_each_figure_beside_its_baseline() -> None:
    text = report(_results())
    assert "| raw aiosmtplib send loop, 8 connections (baseline) | 1000 /s | - | - |" in text
    assert "| email to SMTP sink | 600 /s | 0.60x | 1.25 ms |" in text
    assert "| raw httpx signed POST loop, 32 senders (baseline) | 1200 /s | - | - |" in text
    assert "| webhooks to receiver | 900 /s | 0.75x | 0.75 ms |" in text
    assert "| webhooks >= 0.7x raw httpx | 0.75x | yes |" in text
    assert "- FastStream: one FastStream subscriber alone, prefetch 256." in text
