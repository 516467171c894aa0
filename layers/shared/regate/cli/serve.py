"""`regate serve`: the read API on a local port, through the same resolver as the Lambda function.

The server itself is part of the local kit (``regate_local.serve``): in AWS, API Gateway plays it."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Attach ``serve`` to the ``regate`` command."""

    @app.command("serve")
    def serve(
        port: int = typer.Option(8000, "--port", help="TCP port (0 = any free port)"),
        host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on"),
    ) -> None:
        """Serve the read-only API (`/v1/…`) over the curated bucket, e.g. http://127.0.0.1:8000/v1/docs.

        With REGATE_ADMIN_OIDC_ISSUER set, the back-office (`/admin/v1/`) too, on the same port: tokens of
        that issuer are verified locally (JWKS), as the API Gateway JWT authorizer does in AWS."""
        from regate.cli.kit import kit_command

        kit_command("serve", "serve")(host=host, port=port)
