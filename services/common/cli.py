"""`xieshang`: the project's command line.

    xieshang up                          run the whole stack (embedded default)
    xieshang migrate [--service NAME]    apply Alembic migrations
    xieshang token --role clerk --subject office-1 [--department 教育体育局]
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

from .auth import Role, mint_token
from .devstack import StackPorts
from .settings import SERVICE_NAMES, Settings, get_settings


def exit_hard(status: int) -> None:
    """Flush and leave without interpreter finalisation.

    The Temporal SDK's native client can crash while Python finalises
    (temporalio/sdk-python#300); once the work is done and its status known, skipping
    finalisation keeps that crash from replacing the real exit status.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def cmd_token(args: argparse.Namespace, settings: Settings) -> int:
    role = Role(args.role)
    try:
        token = mint_token(
            settings, role=role, subject=args.subject, department=args.department, ttl_seconds=args.ttl_days * 86400
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(token)
    return 0


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from .migrate import upgrade

    services = SERVICE_NAMES if args.service == "all" else (args.service,)
    for service in services:
        print(f"migrating {service} ...", flush=True)
        upgrade(service, settings.database_url(service))
    print("migrations applied")
    return 0


def ports_from_settings(settings: Settings) -> StackPorts:
    """The ports `up` binds: those the settings tell every process to reach
    (XIESHANG_INTAKE_URL, XIESHANG_TEMPORAL_ADDRESS, ...), so both always agree."""
    from urllib.parse import urlsplit

    def port(url: str) -> int:
        parsed = urlsplit(url if "://" in url else f"//{url}")
        if parsed.port is None:
            raise ValueError(f"{url!r} names no port")
        return parsed.port

    return StackPorts(
        temporal=port(settings.temporal_address),
        temporal_ui=port(settings.temporal_ui_url),
        **{name: port(settings.service_url(name)) for name in SERVICE_NAMES},
    )


def cmd_up(args: argparse.Namespace, settings: Settings) -> int:
    """Run the stack in the foreground, supervised, until Ctrl-C (or SIGTERM).

    Order: migrations, Temporal, the three services, the worker, then wait until every
    service is ready. From then on a process that dies is reported in one line and
    started again with backoff while the others keep running (DevStack.supervise_once).
    Ctrl-C stops the worker first, then the services, Temporal last.
    """
    from .devstack import DevStack
    from .migrate import upgrade_all

    def step(message: str) -> None:
        print(f"[up] {message}", flush=True)

    stack = DevStack(data_dir=Path(settings.data_dir), ports=ports_from_settings(settings), say=step)
    stopping = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    try:
        step(f"applying migrations (databases under {settings.data_dir}/ unless XIESHANG_*_DATABASE_URL is set)")
        upgrade_all(settings)
        step(f"starting Temporal dev server (state in {stack.temporal_db})")
        step(f"started temporal: pid {stack.start_temporal().pid}")
        for name in SERVICE_NAMES:
            step(f"starting {name} on {stack.service_url(name)}")
            step(f"started {name}: pid {stack.start_service(name).pid}")
        step(f"started worker: pid {stack.start_worker().pid}")
        stack.wait_ready()
        token = mint_token(settings, role=Role.CLERK, subject="office-clerk", ttl_seconds=30 * 86400)
        print()
        print("Xieshang is running. Logs: " + str(stack.log_dir))
        for name in SERVICE_NAMES:
            print(f"  {name:<11} {stack.service_url(name)}/docs")
        print(f"  Temporal UI {stack.temporal_ui_url}")
        print(f"  Temporal    127.0.0.1:{stack.ports.temporal} (namespace {settings.temporal_namespace})")
        print()
        print("Clerk token (30 days):")
        print(f"  export TOKEN={token}")
        print()
        print("Try:")
        print(f"  curl -s -X POST {stack.service_url('intake')}/topics -H \"Authorization: Bearer $TOKEN\" \\")
        print("       -H 'Content-Type: application/json' \\")
        print("       -d '{\"title\":\"县城公办幼儿园学位不足\",\"content\":\"公办幼儿园仅一所，学位约1000个，每年约4000名适龄儿童。\",\"channel\":\"member_recommended\"}'")
        print(f"  .venv/bin/temporal workflow list --address 127.0.0.1:{stack.ports.temporal} --query \"ConsultationStage='submitted'\"")
        print()
        print("A process that dies is restarted. Ctrl-C stops everything.", flush=True)
        while not stopping:
            stack.supervise_once()
            time.sleep(0.2)
        return 0
    except (RuntimeError, TimeoutError, ValueError) as exc:
        print(f"[up] failed: {exc}", file=sys.stderr)
        return 1
    finally:
        step("stopping: worker first, Temporal last")
        stack.stop(report=step)
        step("stopped")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="xieshang", description="Xieshang (协商) command line")
    sub = parser.add_subparsers(dest="command", required=True)

    p_token = sub.add_parser("token", help="mint a bearer token")
    p_token.add_argument("--role", required=True, choices=[r.value for r in Role])
    p_token.add_argument("--subject", required=True, help="who the token is for (an id, not a phone number)")
    p_token.add_argument("--department", help="required for --role department")
    p_token.add_argument("--ttl-days", type=int, default=30)
    p_token.set_defaults(func=cmd_token)

    p_migrate = sub.add_parser("migrate", help="apply database migrations")
    p_migrate.add_argument("--service", default="all", choices=["all", *SERVICE_NAMES])
    p_migrate.set_defaults(func=cmd_migrate)

    p_up = sub.add_parser("up", help="run Temporal, the three services and the worker")
    p_up.set_defaults(func=cmd_up)

    args = parser.parse_args(argv)
    status = args.func(args, get_settings())
    exit_hard(status)


if __name__ == "__main__":
    main()
