"""The SAM template is production-minded: checked on its structure (fast, no SAM CLI needed)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[3]
TEMPLATE = REPO_ROOT / "infra" / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that keeps CloudFormation short-form tags (!Ref, !Sub, !GetAtt…) as plain data."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {suffix: value}


_CfnLoader.add_multi_constructor("!", _tag)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return yaml.load(TEMPLATE.read_text(encoding="utf-8"), Loader=_CfnLoader)


def _of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def test_buckets_are_versioned_private_encrypted_with_lifecycle(template) -> None:
    buckets = _of_type(template, "AWS::S3::Bucket")
    assert set(buckets) == {"RawBucket", "CuratedBucket"}
    for bucket in buckets.values():
        props = bucket["Properties"]
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}
        assert all(props["PublicAccessBlockConfiguration"].values())
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        rules = props["LifecycleConfiguration"]["Rules"]
        assert any("NoncurrentVersionExpiration" in rule for rule in rules)
        assert props["NotificationConfiguration"]["EventBridgeConfiguration"]["EventBridgeEnabled"] is True
    assert "ObjectLockConfiguration" in buckets["RawBucket"]["Properties"]


def test_functions_use_python313_the_shared_layer_and_existing_handlers(template) -> None:
    assert template["Globals"]["Function"]["Runtime"] == "python3.13"
    assert template["Globals"]["Function"]["Layers"] == [{"Ref": "SharedLayer"}]
    layer = template["Resources"]["SharedLayer"]
    assert layer["Properties"]["ContentUri"] == "../layers/shared/"
    assert layer["Metadata"]["BuildMethod"] == "python3.13"
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    architectures = template["Globals"]["Function"]["Architectures"]
    assert layer["Properties"]["CompatibleArchitectures"] == architectures
    assert [layer["Metadata"]["BuildArchitecture"]] == architectures
    functions = _of_type(template, "AWS::Serverless::Function")
    assert set(functions) == {
        "CaptureFunction",
        "NormalizeFunction",
        "PublishFunction",
        "ApiFunction",
        "AdminFunction",
        "MarchesFunction",
        "OcrFunction",
    }
    for function in functions.values():
        props = function["Properties"]
        code_dir = (TEMPLATE.parent / props["CodeUri"]).resolve()
        module, attribute = props["Handler"].split(".")
        source = code_dir / f"{module}.py"
        assert source.exists(), f"missing handler module {source}"
        spec = importlib.util.spec_from_file_location(f"_handler_{module}", source)
        assert spec and spec.loader
        assert f"def {attribute}(" in source.read_text(encoding="utf-8")
        assert props["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"].startswith("regate-")
        assert props["Timeout"] <= 900 and props["MemorySize"] >= 128


def test_schedules_run_in_paris_time(template) -> None:
    schedules = [
        event["Properties"]
        for function in _of_type(template, "AWS::Serverless::Function").values()
        for event in function["Properties"].get("Events", {}).values()
        if event["Type"] == "ScheduleV2"
    ]
    assert len(schedules) == 4  # capture, publication reconcile, marchés, debounced read step
    assert all(s["ScheduleExpressionTimezone"] == "Europe/Paris" for s in schedules)


def test_read_step_is_scheduled_and_debounced(template) -> None:
    function = template["Resources"]["NormalizeFunction"]["Properties"]
    step = function["Events"]["ReadStep"]["Properties"]
    assert step["Input"] == '{"regate": "read-step"}'
    assert float(function["Environment"]["Variables"]["REGATE_LAKE_DEBOUNCE_SECONDS"]) > 0
    tables = {
        r["Properties"]["TableInput"]["Name"]: r["Properties"]["TableInput"]
        for r in _of_type(template, "AWS::Glue::Table").values()
    }
    for name, prefix in (("actes_publics", "public/lake/actes/"), ("actes_comptes", "public/lake/comptes/")):
        template_value = tables[name]["Parameters"]["storage.location.template"]
        assert prefix in str(template_value)


def test_queues_have_dead_letter_queues_and_partial_batch_failures(template) -> None:
    resources = template["Resources"]
    for queue in ("NormalizeQueue", "PublishQueue", "OcrQueue"):
        assert "deadLetterTargetArn" in resources[queue]["Properties"]["RedrivePolicy"]
    for function in ("NormalizeFunction", "PublishFunction", "OcrFunction"):
        sqs_events = [e for e in resources[function]["Properties"]["Events"].values() if e["Type"] == "SQS"]
        assert sqs_events and all(
            e["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"] for e in sqs_events
        )
    alarms = _of_type(template, "AWS::CloudWatch::Alarm")
    dlq_alarms = {
        a["Properties"]["Dimensions"][0]["Value"]["GetAtt"]
        for a in alarms.values()
        if a["Properties"]["Namespace"] == "AWS/SQS"
    }
    assert dlq_alarms == {
        "CaptureDLQ.QueueName",
        "NormalizeDLQ.QueueName",
        "PublishDLQ.QueueName",
        "OcrDLQ.QueueName",
    }
    assert all(a["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}] for a in alarms.values())


def test_no_wildcard_resources_and_secrets_by_arn(template) -> None:
    text = TEMPLATE.read_text(encoding="utf-8")
    assert 'Resource: "*"' not in text and "Resource: '*'" not in text
    for name in ("PastellSecretArn", "DatagouvSecretArn"):
        assert template["Parameters"][name]["Type"] == "String"
    env = template["Resources"]["CaptureFunction"]["Properties"]["Environment"]["Variables"]
    assert "REGATE_PASTELL_PASSWORD" not in env and "REGATE_PASTELL_TOKEN" not in env
    assert env["REGATE_PASTELL_SECRET_ARN"] == {"Ref": "PastellSecretArn"}


def test_http_api_has_cors_and_throttling(template) -> None:
    api = template["Resources"]["HttpApi"]["Properties"]
    assert api["CorsConfiguration"]["AllowOrigins"] == ["*"]
    assert "ETag" in api["CorsConfiguration"]["ExposeHeaders"]
    assert api["DefaultRouteSettings"]["ThrottlingRateLimit"] == {"Ref": "ApiThrottlingRateLimit"}


def test_analytics_table_uses_partition_projection(template) -> None:
    table = template["Resources"]["ActesTable"]["Properties"]["TableInput"]
    assert table["Parameters"]["projection.enabled"] == "true"
    workgroup = template["Resources"]["AnalyticsWorkgroup"]["Properties"]["WorkGroupConfiguration"]
    assert workgroup["BytesScannedCutoffPerQuery"] == {"Ref": "AthenaBytesScannedCutoff"}


def test_outputs(template) -> None:
    assert {"ApiUrl", "RawBucketName", "CuratedBucketName"} <= set(template["Outputs"])


def test_the_project_and_the_test_venv_are_on_the_lambda_python(template) -> None:
    """The suite runs on the functions' Python: pyproject and `make install` follow the template's runtime."""
    runtime = template["Globals"]["Function"]["Runtime"]
    version = runtime.removeprefix("python")
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["requires-python"] == f">={version}"
    assert pyproject["tool"]["ruff"]["target-version"] == "py" + version.replace(".", "")
    assert f"{sys.version_info.major}.{sys.version_info.minor}" == version, (
        f"the suite runs on Python {sys.version.split()[0]}, the Lambda on {runtime}: run `make install`"
    )


def test_lambda_requirements_are_generated_from_pyproject() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "gen_requirements.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_samconfig_points_at_the_template() -> None:
    text = (REPO_ROOT / "samconfig.toml").read_text(encoding="utf-8")
    assert 'template_file = "infra/template.yaml"' in text
    assert Path(REPO_ROOT / "infra" / "template.yaml").exists()


def test_api_function_writes_only_its_exports(template) -> None:
    statements = template["Resources"]["ApiFunction"]["Properties"]["Policies"][0]["Statement"]
    writes = [s for s in statements if any(a.startswith("s3:Put") for a in s["Action"])]
    assert len(writes) == 1
    assert writes[0]["Resource"] == [{"Sub": "${CuratedBucket.Arn}/public/exports/*"}]
    rules = template["Resources"]["CuratedBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert any(r.get("Prefix") == "public/exports/" and r.get("ExpirationInDays") for r in rules)


def test_marches_function_is_scheduled_optional_and_least_privilege(template) -> None:
    function = template["Resources"]["MarchesFunction"]
    props = function["Properties"]
    assert function["Condition"] == "HasMarches"
    assert template["Resources"]["MarchesErrorsAlarm"]["Condition"] == "HasMarches"
    assert template["Parameters"]["AtexoUrl"]["Default"] == ""  # not deployed unless configured
    [schedule] = [e for e in props["Events"].values() if e["Type"] == "ScheduleV2"]
    assert schedule["Properties"]["ScheduleExpression"] == {"Ref": "MarchesSchedule"}
    assert schedule["Properties"]["DeadLetterConfig"] == {"Arn": {"GetAtt": "CaptureDLQ.Arn"}}
    env = props["Environment"]["Variables"]
    assert env["REGATE_ATEXO_SECRET_ARN"] == {"Ref": "AtexoSecretArn"} and "REGATE_ATEXO_PASSWORD" not in env
    assert props["ReservedConcurrentExecutions"] == 1
    [inline, secret] = props["Policies"]
    assert secret["If"][0] == "HasAtexoSecret"
    statements = inline["Statement"]
    assert not any("S3CrudPolicy" in p for p in props["Policies"] if isinstance(p, dict))
    written = [r["Sub"] for st in statements if "s3:PutObject" in st["Action"] for r in st["Resource"]]
    assert written == [
        "${RawBucket.Arn}/acheteurs/*",
        "${RawBucket.Arn}/acheteurs-rejected/*",
        "${RawBucket.Arn}/_state/acheteurs/*",
        "${RawBucket.Arn}/_state/runs/capture-marches/*",
        "${CuratedBucket.Arn}/decp/*",
        "${CuratedBucket.Arn}/quarantine/decp/*",
        "${CuratedBucket.Arn}/public/marches/*",
    ]
    deleting = [st for st in statements if "s3:DeleteObject" in st["Action"]]
    assert [r["Sub"].split("/")[0] for st in deleting for r in st["Resource"]] == ["${CuratedBucket.Arn}"] * 3
    listing = [st for st in statements if "s3:ListBucket" in st["Action"]]
    assert [st["Action"] for st in listing] == [["s3:ListBucket"]]


def test_marches_function_writes_where_the_layout_says() -> None:
    """The policy's prefixes are the layout's: a renamed prefix would fail here, not in production."""
    from regate.storage import layout

    text = TEMPLATE.read_text(encoding="utf-8")
    prefixes = (
        layout.PROFILS_PREFIX,
        layout.PROFILS_REJECTED_PREFIX,
        layout.PROFILS_STATE_PREFIX,
        layout.run_report_key(layout.MARCHES_CAPTURE_STAGE).removesuffix("latest.json"),
    )
    for prefix in prefixes:
        assert f'"${{RawBucket.Arn}}/{prefix}*"' in text
    for prefix in (layout.DECP_PREFIX, layout.DECP_QUARANTINE_PREFIX, layout.PUBLIC_MARCHES_PREFIX):
        assert f'"${{CuratedBucket.Arn}}/{prefix}*"' in text


def test_ocr_function_ships_the_ocr_wheels_without_the_heavy_ones_and_is_least_privilege(template) -> None:
    """OCR runs in its own function (tesserocr + Pillow do not fit beside pyarrow in the normaliser)."""
    requirements = (REPO_ROOT / "functions" / "ocr" / "requirements.txt").read_text(encoding="utf-8").lower()
    names = {line.split("==")[0] for line in requirements.splitlines() if line and not line.startswith("#")}
    assert names == {"pypdfium2", "tesserocr", "pillow"}
    normalize = (REPO_ROOT / "functions" / "normalize" / "requirements.txt").read_text(encoding="utf-8")
    assert "tesserocr" not in normalize.lower() and "pillow" not in normalize.lower()
    resources = template["Resources"]
    ocr = resources["OcrFunction"]["Properties"]
    assert ocr["Environment"]["Variables"]["REGATE_NORMALIZE_QUEUE_URL"] == {"Ref": "NormalizeQueue"}
    statements = [s for p in ocr["Policies"] if "Statement" in p for s in p["Statement"]]
    actions = {a for s in statements for a in s["Action"]}
    assert actions == {"s3:GetObject", "s3:PutObject", "s3:ListBucket"}
    put = next(s for s in statements if s["Action"] == ["s3:PutObject"])
    assert put["Resource"] == {"Sub": "${CuratedBucket.Arn}/_text/*"}
    assert [p for p in ocr["Policies"] if "SQSSendMessagePolicy" in p] == [
        {"SQSSendMessagePolicy": {"QueueName": {"GetAtt": "NormalizeQueue.QueueName"}}}
    ]
    (event,) = ocr["Events"].values()
    assert event["Properties"]["Queue"] == {"GetAtt": "OcrQueue.Arn"}
    assert event["Properties"]["BatchSize"] == 1
    normalizer = resources["NormalizeFunction"]["Properties"]
    assert normalizer["Environment"]["Variables"]["REGATE_SEARCH_OCR_QUEUE_URL"] == {"Ref": "OcrQueue"}
    assert {"SQSSendMessagePolicy": {"QueueName": {"GetAtt": "OcrQueue.QueueName"}}} in normalizer["Policies"]
