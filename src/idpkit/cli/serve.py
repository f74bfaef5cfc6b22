"""``idpkit serve`` and ``idpkit tokens …`` — the HTTP API and its access tokens."""

from __future__ import annotations

from typing import Annotated

import typer

from idpkit.cli.options import DbOpt

tokens_app = typer.Typer(help="API tokens (roles: public, analyst, protection, admin).",
                         no_args_is_help=True)


def serve(host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="Port.")] = 8000,
          db: DbOpt = None) -> None:
    """Serve the warehouse as an HTTP API (OpenAPI docs at /docs)."""
    import uvicorn

    from idpkit.api.app import create_app
    from idpkit.cli.console import err
    from idpkit.warehouse.warehouse import default_target

    app = create_app(db or default_target())
    base = f"http://{host}:{port}"
    err.print(f"Dashboard: {base}/  ·  API: {base}/api  ·  API docs: {base}/docs\n"
              "The warehouse stays usable from the CLI while this runs (the server lets go of "
              "it when idle). Ctrl-C stops.", soft_wrap=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


@tokens_app.command("create")
def create(name: Annotated[str, typer.Argument(help="Who or what the token is for.")],
           role: Annotated[str, typer.Option("--role", help="public, analyst, protection or "
                                             "admin.")] = "analyst",
           db: DbOpt = None) -> None:
    """Create a token; it is shown once (only its hash is stored)."""
    from idpkit.api.auth import create_token
    from idpkit.cli.console import console, open_warehouse

    with open_warehouse(db) as wh:
        try:
            token = create_token(wh, name, role)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--role") from None
    console.print(token)


@tokens_app.command("list")
def list_(db: DbOpt = None) -> None:
    """Tokens (names and roles; secrets are not stored)."""
    from idpkit.api.auth import list_tokens
    from idpkit.cli.console import console, open_warehouse

    with open_warehouse(db) as wh:
        df = list_tokens(wh)
    console.print(df.to_string(index=False) if len(df) else "No tokens.")


@tokens_app.command("revoke")
def revoke(name: Annotated[str, typer.Argument()], db: DbOpt = None) -> None:
    """Revoke every token with this name."""
    from idpkit.api.auth import revoke as do_revoke
    from idpkit.cli.console import console, open_warehouse

    with open_warehouse(db) as wh:
        n = do_revoke(wh, name)
    console.print(f"Revoked {n} token(s).")
