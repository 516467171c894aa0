"""`regate serve`: the read API on a local port, through the same resolver as the Lambda function."""

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
        from regate.api.local_server import serve_api, serve_until_interrupted
        from regate.cli.errors import check_buckets
        from regate.settings import get_settings
        from regate.storage import make_s3_client

        settings = get_settings()
        check_buckets(settings, make_s3_client(settings), settings.curated_bucket)
        if settings.admin_oidc_issuer:
            from regate.admin.local import serve_with_admin

            server = serve_with_admin(settings, host, port)
        else:
            server = serve_api(settings, host, port)
        bound_host, bound_port = server.server_address[:2]
        if settings.admin_oidc_issuer:
            typer.echo(
                f"Back-office : http://{bound_host}:{bound_port}/admin/v1/ ({settings.admin_oidc_issuer})"
            )
        typer.echo(f"API Rég@te : http://{bound_host}:{bound_port}/v1/docs (Ctrl+C pour arrêter)")
        serve_until_interrupted(server)
