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
        """Serve the read-only API (`/v1/…`) over the curated bucket, e.g. http://127.0.0.1:8000/v1/docs."""
        from regate.api.local_server import serve_api, serve_until_interrupted
        from regate.cli.errors import check_buckets
        from regate.settings import get_settings
        from regate.storage import make_s3_client

        settings = get_settings()
        check_buckets(settings, make_s3_client(settings), settings.curated_bucket)
        server = serve_api(settings, host, port)
        bound_host, bound_port = server.server_address[:2]
        typer.echo(f"API Rég@te : http://{bound_host}:{bound_port}/v1/docs (Ctrl+C pour arrêter)")
        serve_until_interrupted(server)
