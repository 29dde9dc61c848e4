"""Operator settings from the environment (the Helm chart sets them)."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class OperatorSettings:
    services_image: str = "ghcr.io/botrader/botrader-services:0.1.0"
    jobs_image: str = "ghcr.io/botrader/botrader-jobs:0.1.0"
    db_secret: str = "botrader-db"  # key "url": the database URL every component uses
    binance_secret: str = "botrader-binance"  # optional keys api-key, api-secret
    mlflow_uri: str = ""
    status_interval: float = 10.0  # seconds between status refreshes from the trader's state
    db_url: str = ""  # where traders keep their state; empty: status carries no trading summary
    kuberay: str = "auto"  # enabled | disabled | auto (RayJobs when the cluster serves the CRD)
    venue_rest_url: str = ""  # passed to venue traders when set (default theirs: the Spot Testnet)
    venue_ws_api_url: str = ""
    # the operator's pace (bench/bench_operator.py chose the defaults; see the README's figures):
    # 64 bots' children applied at once kept 1,000 bots at 0 429s and under the kubectl floor;
    # pacing on top was not needed there
    api_qps: float = 0.0  # its own requests per second to the API server after a burst; 0: unpaced
    api_burst: int = 100
    workers: int = 64  # bots whose children are applied at once; 0: unbounded

    @classmethod
    def from_env(cls) -> OperatorSettings:
        env = os.environ.get
        return cls(
            services_image=env("BOTRADER_SERVICES_IMAGE", cls.services_image),
            jobs_image=env("BOTRADER_JOBS_IMAGE", cls.jobs_image),
            db_secret=env("BOTRADER_DB_SECRET", cls.db_secret),
            binance_secret=env("BOTRADER_BINANCE_SECRET", cls.binance_secret),
            mlflow_uri=env("MLFLOW_TRACKING_URI", ""),
            status_interval=float(env("BOTRADER_STATUS_INTERVAL", str(cls.status_interval))),
            db_url=env("BOTRADER_DB_URL", ""),
            kuberay=env("BOTRADER_KUBERAY", cls.kuberay),
            venue_rest_url=env("BOTRADER_VENUE_REST_URL", ""),
            venue_ws_api_url=env("BOTRADER_VENUE_WS_API_URL", ""),
            api_qps=float(env("BOTRADER_API_QPS", str(cls.api_qps))),
            api_burst=int(env("BOTRADER_API_BURST", str(cls.api_burst))),
            workers=int(env("BOTRADER_WORKERS", str(cls.workers))),
        )
