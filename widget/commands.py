"""The `serve` and `demo` subcommands."""

import argparse
import os
import socket
from pathlib import Path

import uvicorn

from offers.errors import InputError
from offers.store import Store
from widget import worker_failures
from widget.settings import Settings, load_settings
from widget.shop import prepare_shop

_FLAG_VARIABLES = {"database": "ENCORE_DATABASE_URL", "model": "ENCORE_MODEL_DIR"}
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def register(subparsers: argparse._SubParsersAction) -> None:
    serve = subparsers.add_parser(
        "serve",
        help="run the ranking service",
        description="Run the HTTP service (settings from ENCORE_* variables; flags override them).",
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    serve.add_argument("--database", help="store URL: sqlite:///path (default) or postgresql://...")
    serve.add_argument("--model", help="trained model folder (default models/current)")
    serve.set_defaults(run=run_serve)

    demo = subparsers.add_parser(
        "demo",
        help="create a demo shop, train a model and serve a demo thank-you page",
        description="With no other set-up: generate a demo shop, import it, train a model, serve. "
        "Re-running reuses what the data folder already holds.",
    )
    demo.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    demo.add_argument(
        "--data", type=Path, default=Path("encore-demo"), help="data folder (default ./encore-demo)"
    )
    demo.set_defaults(run=run_demo)


def run_serve(args: argparse.Namespace) -> int:
    if args.workers < 1:
        raise InputError(f"--workers must be at least 1, got {args.workers}")
    # each worker's share of total caps; several hosts set the total of their workers
    if not os.environ.get("ENCORE_WORKERS", "").strip():
        os.environ["ENCORE_WORKERS"] = str(args.workers)
    for flag, variable in _FLAG_VARIABLES.items():
        if getattr(args, flag) is not None:
            os.environ[variable] = getattr(
                args, flag
            )  # the workers read their settings from the environment
    settings = load_settings()
    if settings.workers < args.workers:
        raise InputError(
            f"ENCORE_WORKERS ({settings.workers}) counts the workers of every host sharing the "
            f"store: it cannot be fewer than this host's --workers {args.workers}"
        )
    _prepare(settings)  # a mistake in the settings or the store is named before a taken port
    _check_address(args.host, args.port)
    for variable in _THREAD_VARIABLES:  # every thread of every worker, not only the lifespan's
        os.environ.setdefault(variable, "1")
    with worker_failures.reported():
        uvicorn.run(
            "widget.app:app_from_environment",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level="info",
            timeout_graceful_shutdown=30,
        )
    return 0


def run_demo(args: argparse.Namespace) -> int:
    from widget.app import create_app
    from widget.demo_setup import prepare_demo

    _check_address("127.0.0.1", args.port)
    if args.data.exists() and not args.data.is_dir():
        raise InputError(f"--data {args.data}: exists and is not a folder")
    settings = prepare_demo(args.data, port=args.port)
    _prepare(settings)
    base = f"http://127.0.0.1:{args.port}"

    def announce() -> None:  # once the page answers: loading the model takes seconds
        print(
            f"\nEncore demo: open {base}/demo\n"
            f"  publishable key: {settings.publishable_key}\n"
            f"  secret key:      {settings.secret_key}\n"
            f"  dashboard:       {base}/admin\n"
            f"  data:            {args.data}\n",
            flush=True,
        )

    print("starting the service (loading the model)", flush=True)
    app = create_app(settings, on_ready=announce)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")
    return 0


def _prepare(settings: Settings) -> None:
    """Fail fast, with one sentence, on a store that cannot be opened or a missing shop; and
    create the shop (and its signing secret) once, before any worker starts."""
    store = Store.open(settings.database_url)
    try:
        prepare_shop(store, settings)
    finally:
        store.close()


def _check_address(host: str, port: int) -> None:
    """Refuse a port out of range or one that cannot be listened on before the service
    starts (uvicorn would report it only after starting the app, and exit with status 3)."""
    if not 0 < port < 65536:
        raise InputError(f"--port must be between 1 and 65535, got {port}")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
            probe.bind(address)
    except OSError as err:
        raise InputError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None
