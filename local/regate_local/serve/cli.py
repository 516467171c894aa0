"""The body of ``regate serve`` (options and help stay in the product CLI, :mod:`regate.cli.serve`)."""

from __future__ import annotations

import typer


def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the read API (and, with ``REGATE_ADMIN_OIDC_ISSUER``, the back-office) until Ctrl-C."""
    from regate.cli.errors import check_buckets
    from regate.settings import get_settings
    from regate.storage import make_s3_client
    from regate_local.serve.server import serve_api, serve_until_interrupted

    settings = get_settings()
    check_buckets(settings, make_s3_client(settings), settings.curated_bucket)
    if settings.admin_oidc_issuer:
        from regate_local.serve.admin import serve_with_admin

        server = serve_with_admin(settings, host, port)
    else:
        server = serve_api(settings, host, port)
    bound_host, bound_port = server.server_address[:2]
    if settings.admin_oidc_issuer:
        typer.echo(f"Back-office : http://{bound_host}:{bound_port}/admin/v1/ ({settings.admin_oidc_issuer})")
    typer.echo(f"API Rég@te : http://{bound_host}:{bound_port}/v1/docs (Ctrl+C pour arrêter)")
    serve_until_interrupted(server)
