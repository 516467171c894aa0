"""One place turning what goes wrong around a ``regate`` command into two lines an operator can act on.

Every command runs inside :class:`RegateGroup`: an exception escaping a command is translated here
(:func:`translate`) — missing or refused credentials, an unreachable S3 endpoint, Pastell or data.gouv.fr,
a bucket that does not exist, an invalid ``REGATE_*`` value — into *what is wrong* and *what to set*,
printed on stderr, exit code 2. Anything else is one line naming the error, exit code 1. The traceback
is only shown with ``regate --debug …`` (or ``REGATE_DEBUG=1``).

Commands raise :class:`OperatorError` themselves for conditions they detect (a data.gouv.fr key not
set), and call :func:`check_buckets` before working so that a wrong bucket or endpoint fails in one
second with a clear message rather than after a long run.

Exit codes of every command: 0 done; 1 done with failed items (see the report) or an unexpected error;
2 nothing could be done: configuration, credentials or reachability (the message says what to set).
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from typing import Any

import typer
from typer.core import TyperGroup

DEBUG_KEY = "regate.debug"
DEBUG_HINT = "add --debug (regate --debug …) for the full traceback"


class OperatorError(Exception):
    """A condition the operator must fix: ``what`` is wrong, ``fix`` says which setting to change."""

    def __init__(self, what: str, fix: str, exit_code: int = 2) -> None:
        super().__init__(what)
        self.what = what
        self.fix = fix
        self.exit_code = exit_code

    def lines(self) -> list[str]:
        return [f"Error: {self.what}", f"  → {self.fix}"]


class RegateGroup(TyperGroup):
    """The ``regate`` command group: translates the exceptions escaping any subcommand."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            # typer's own signals (Exit, Abort, usage errors such as BadParameter) keep their meaning
            if type(exc).__module__.split(".")[0] in {"typer", "click"} or ctx.meta.get(DEBUG_KEY):
                raise
            problem = translate(exc) or unexpected(exc)
            for line in problem.lines():
                typer.echo(line, err=True)
            raise typer.Exit(problem.exit_code) from None


def unexpected(exc: BaseException) -> OperatorError:
    message = " ".join(str(exc).split())[:300] or "(no message)"
    return OperatorError(f"unexpected {type(exc).__name__}: {message}", DEBUG_HINT, exit_code=1)


def _settings() -> Any:
    try:
        from regate.settings import get_settings

        return get_settings()
    except Exception:
        return None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _endpoint(settings: Any) -> str:
    url = getattr(settings, "s3_endpoint_url", "") if settings is not None else ""
    return url or f"AWS S3 ({getattr(settings, 's3_region', '?')})"


def _bucket_variable(bucket: str | None, settings: Any) -> str:
    if settings is not None and bucket:
        if bucket == settings.raw_bucket:
            return "REGATE_RAW_BUCKET"
        if bucket == settings.curated_bucket:
            return "REGATE_CURATED_BUCKET"
    return "REGATE_RAW_BUCKET / REGATE_CURATED_BUCKET"


def translate(exc: BaseException) -> OperatorError | None:
    """The operator-facing form of ``exc`` (or of the error that caused it), ``None`` if unknown."""
    for item in _chain(exc):
        if isinstance(item, OperatorError):
            return item
        found = _translate_one(item)
        if found is not None:
            return found
    return None


def _translate_one(exc: BaseException) -> OperatorError | None:
    from botocore import exceptions as boto
    from pydantic import ValidationError

    if isinstance(exc, ValidationError) and exc.title == "Settings":
        return _invalid_setting(exc)
    settings = _settings()
    if isinstance(
        exc, boto.NoCredentialsError | boto.PartialCredentialsError | boto.CredentialRetrievalError
    ):
        return OperatorError(
            f"no usable S3 credentials for {_endpoint(settings)} ({exc})",
            "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE); "
            "the endpoint is REGATE_S3_ENDPOINT_URL (empty = AWS)",
        )
    if isinstance(exc, boto.EndpointConnectionError | boto.ConnectTimeoutError | boto.ReadTimeoutError):
        url = str(getattr(exc, "kwargs", {}).get("endpoint_url") or _endpoint(settings))
        configured = getattr(settings, "s3_endpoint_url", "") if settings is not None else ""
        if configured and url.startswith(configured):
            url = configured
        if "secretsmanager" in url:
            return OperatorError(
                f"AWS Secrets Manager unreachable at {url}",
                "check the network and REGATE_S3_REGION, "
                "or REGATE_PASTELL_SECRET_ARN / REGATE_DATAGOUV_SECRET_ARN",
            )
        return OperatorError(
            f"S3 endpoint unreachable: {url} ({type(exc).__name__})",
            "check REGATE_S3_ENDPOINT_URL (empty = AWS) and REGATE_S3_REGION, and that the endpoint is up",
        )
    if isinstance(exc, boto.ParamValidationError) and "bucket" in str(exc).lower():
        return OperatorError(
            f"invalid S3 bucket name ({' '.join(str(exc).split())[:200]})",
            "set REGATE_RAW_BUCKET and REGATE_CURATED_BUCKET to valid bucket names",
        )
    if isinstance(exc, boto.ClientError):
        return _client_error(exc, settings)
    return _outside_services(exc, settings)


def _client_error(exc: Any, settings: Any) -> OperatorError | None:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    bucket = error.get("BucketName")
    if code == "NoSuchBucket":
        return OperatorError(
            f"S3 bucket '{bucket}' does not exist at {_endpoint(settings)}",
            f"create it (with versioning) or set {_bucket_variable(bucket, settings)} to an existing bucket",
        )
    if code in {
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "InvalidToken",
        "ExpiredToken",
        "InvalidClientTokenId",
    }:
        return OperatorError(
            f"S3 refused the credentials ({code}) at {_endpoint(settings)}",
            "check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) "
            "for REGATE_S3_ENDPOINT_URL",
        )
    if code in {"AccessDenied", "403", "AllAccessDisabled"}:
        return OperatorError(
            f"S3 denied {exc.operation_name} on {bucket or 'a bucket'} ({code})",
            "grant this account access to REGATE_RAW_BUCKET / REGATE_CURATED_BUCKET, or fix the bucket names",
        )
    if code in {
        "PermanentRedirect",
        "301",
        "AuthorizationHeaderMalformed",
        "IllegalLocationConstraintException",
    }:
        region = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("x-amz-bucket-region")
        return OperatorError(
            f"the bucket is in another region{f' ({region})' if region else ''} than REGATE_S3_REGION",
            f"set REGATE_S3_REGION{f'={region}' if region else ' to the region of the buckets'}",
        )
    if (
        code in {"ResourceNotFoundException", "AccessDeniedException"}
        and exc.operation_name == "GetSecretValue"
    ):
        return OperatorError(
            f"the secret could not be read from Secrets Manager ({code})",
            "check REGATE_PASTELL_SECRET_ARN / REGATE_DATAGOUV_SECRET_ARN and the account's rights on them",
        )
    return None


def _outside_services(exc: BaseException, settings: Any) -> OperatorError | None:
    from regate.datagouv.models import AuthError, DatagouvError
    from regate.pastell.client import PastellAuthError, PastellError

    if isinstance(exc, PastellAuthError):
        return OperatorError(
            f"Pastell refused the credentials ({exc.url or 'login'}, HTTP 401)",
            "check REGATE_PASTELL_USER / REGATE_PASTELL_PASSWORD or REGATE_PASTELL_TOKEN "
            "(or REGATE_PASTELL_SECRET_ARN)",
        )
    if isinstance(exc, PastellError) and "REGATE_PASTELL_URL" in str(exc):
        return OperatorError(
            "REGATE_PASTELL_URL is not set", "set REGATE_PASTELL_URL to the Pastell root URL"
        )
    if isinstance(exc, PastellError) and exc.status is None:
        url = getattr(settings, "pastell_url", "") or "?"
        return OperatorError(f"Pastell unreachable at {url}", "check REGATE_PASTELL_URL and the network")
    if isinstance(exc, AuthError):
        url = getattr(settings, "datagouv_url", "") or "?"
        return OperatorError(
            f"{url} rejected the API key",
            "check REGATE_DATAGOUV_API_KEY (or REGATE_DATAGOUV_SECRET_ARN) for REGATE_DATAGOUV_URL",
        )
    if isinstance(exc, DatagouvError) and exc.status is None:
        url = getattr(settings, "datagouv_url", "") or "?"
        return OperatorError(
            f"data.gouv.fr unreachable at {url}", "check REGATE_DATAGOUV_URL and the network"
        )
    if isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE:
        return OperatorError(f"address already in use ({exc.strerror})", "choose another port with --port")
    return None


def _invalid_setting(exc: Any) -> OperatorError:
    first = exc.errors(include_url=False)[0]
    field = str(first["loc"][0]) if first["loc"] else "?"
    variable = f"REGATE_{field.upper()}"
    shown = (
        ""
        if "password" in field or "token" in field or "key" in field
        else f" (got {first.get('input')!r:.60})"
    )
    more = f" and {len(exc.errors()) - 1} more" if len(exc.errors()) > 1 else ""
    return OperatorError(
        f"invalid setting {variable}: {first['msg']}{shown}{more}",
        f"fix {variable} (see README, Configuration)",
    )


def check_buckets(settings: Any, client: Any, *buckets: str) -> None:
    """Fail fast, before any work, when a bucket is missing, forbidden or unreachable (``HeadBucket``)."""
    from botocore.exceptions import ClientError

    for bucket in buckets:
        try:
            client.head_bucket(Bucket=bucket)
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            code = str(exc.response.get("Error", {}).get("Code", ""))
            variable = _bucket_variable(bucket, settings)
            if status == 404 or code in {"404", "NoSuchBucket"}:
                raise OperatorError(
                    f"S3 bucket '{bucket}' does not exist at {_endpoint(settings)}",
                    f"create it (with versioning) or set {variable} to an existing bucket",
                ) from exc
            if status == 301 or code in {"301", "PermanentRedirect"}:
                exc.response.setdefault("Error", {})["Code"] = "PermanentRedirect"
                raise (_client_error(exc, settings) or exc) from exc
            if status == 403 or code in {"403", "AccessDenied"}:
                raise OperatorError(
                    f"S3 denied access to bucket '{bucket}' at {_endpoint(settings)} (wrong credentials, "
                    "or no s3:ListBucket right)",
                    "check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and the account's rights, "
                    f"or {variable}",
                ) from exc
            raise
