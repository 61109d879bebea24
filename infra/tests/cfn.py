"""The CloudFormation template as the tests (and scripts/test's checkov step) see it.

- `load`: decoded with cfn-lint's own decoder (short-form tags as CloudFormation
  reads them), as tests/infra.rs does.
- `expand`: `Fn::ForEach` expanded and SAM `Globals` merged by cfn-lint's own
  transform, so every per-view and per-persona resource is there by name.
- `resolve`: one deployment's concrete template: parameters and conditions
  applied, intrinsic functions evaluated to strings, physical names and ARNs
  made the way AWS makes them (account 111122223333, eu-west-1).

`python infra/tests/cfn.py expand TEMPLATE` prints the expanded template as
JSON (scripts/test runs checkov on it: checkov does not expand `Fn::ForEach`).
"""

from __future__ import annotations

import base64
import copy
import json
import sys
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "template.yaml"

ACCOUNT = "111122223333"
REGION = "eu-west-1"
PARTITION = "aws"

#: Parameters without a default, for a deployment beside the AWS sample.
REQUIRED = {
    "LakeFormationAdminArn": f"arn:aws:iam::{ACCOUNT}:role/deployer",
    "AdminPassword": "admin-first-password",
    "AnalystPassword": "analyst-first-password",
    "DataScientistPassword": "scientist-first-password",
    "SourceSecretArn": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:dcp-MySQLDB-Secret-AbCdEf",
    "ReplicationSubnetIds": "subnet-a,subnet-b",
    "ReplicationSecurityGroupIds": "sg-1",
}


class NoValue:
    """`AWS::NoValue`: removed from lists and mappings after resolution."""


def load(path: Path = TEMPLATE) -> Dict[str, Any]:
    from cfnlint.decode import decode

    template, errors = decode(str(path))
    if errors:
        raise AssertionError(f"cannot decode {path}: " + "; ".join(str(e) for e in errors))
    return to_plain(template)


def to_plain(value: Any) -> Any:
    """cfn-lint's node types (dict_node, str_node…) as plain Python values."""
    return json.loads(json.dumps(value))


def expand(template: Dict[str, Any], path: Path = TEMPLATE) -> Dict[str, Any]:
    """`Fn::ForEach` expanded, SAM Globals merged (cfn-lint's transform)."""
    from cfnlint.template import Template
    from cfnlint.template.transforms.transform import Transform

    cfn = Template(str(path), copy.deepcopy(template), [REGION])
    matches = Transform().transform(cfn)
    if matches:
        raise AssertionError("cannot expand the template: " + "; ".join(str(m) for m in matches))
    return to_plain(cfn.template)


class Resolved:
    """One deployment of an expanded template (see module doc)."""

    def __init__(self, template: Dict[str, Any], params: Optional[Mapping[str, str]] = None) -> None:
        self.raw = template
        self.params: Dict[str, Any] = {}
        for name, spec in template.get("Parameters", {}).items():
            if params and name in params:
                value: Any = params[name]
            elif name in REQUIRED:
                value = REQUIRED[name]
            elif "Default" in spec:
                value = spec["Default"]
            else:
                raise AssertionError(f"parameter {name} needs a value in REQUIRED")
            if str(spec.get("Type", "")).startswith("List<") or spec.get("Type") == "CommaDelimitedList":
                value = value.split(",") if isinstance(value, str) else value
            elif not isinstance(value, list):
                value = str(value)
            self.params[name] = value
        unknown = set(params or {}) - set(self.params)
        assert not unknown, f"no such parameters: {unknown}"
        self.conditions: Dict[str, bool] = {}
        for name in template.get("Conditions", {}):
            self.condition(name)
        self.resources: Dict[str, Dict[str, Any]] = {
            name: r
            for name, r in template["Resources"].items()
            if "Condition" not in r or self.condition(r["Condition"])
        }
        self._names: Dict[str, str] = {}
        self._resolving: set = set()

    # -- conditions -----------------------------------------------------------
    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            self.conditions[name] = bool(self._cond(self.raw["Conditions"][name]))
        return self.conditions[name]

    def _cond(self, expr: Any) -> Any:
        if isinstance(expr, dict) and len(expr) == 1:
            (fn, arg), = expr.items()
            if fn == "Fn::Equals":
                a, b = (self.value(x) for x in arg)
                return str(a) == str(b)
            if fn == "Fn::Not":
                return not self._cond(arg[0])
            if fn == "Fn::And":
                return all(self._cond(x) for x in arg)
            if fn == "Fn::Or":
                return any(self._cond(x) for x in arg)
            if fn == "Condition":
                return self.condition(arg)
        return self.value(expr)

    # -- values ---------------------------------------------------------------
    def value(self, node: Any) -> Any:
        """`node` with every intrinsic function evaluated (NoValue removed)."""
        out = self._value(node)
        return out

    def _value(self, node: Any) -> Any:
        if isinstance(node, list):
            items = [self._value(x) for x in node]
            return [x for x in items if not isinstance(x, NoValue)]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (fn, arg), = node.items()
            if fn == "Ref":
                return self.ref(arg)
            if fn == "Fn::GetAtt":
                name, attr = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.getatt(self._value(name), self._value(attr))
            if fn == "Fn::Sub":
                return self.sub(arg)
            if fn == "Fn::Join":
                sep, items = arg
                return self._value(sep).join(str(x) for x in self._value(items))
            if fn == "Fn::If":
                cond, yes, no = arg
                return self._value(yes if self.condition(cond) else no)
            if fn == "Fn::FindInMap":
                table, key, attr = (self._value(x) for x in arg[:3])
                return self.raw["Mappings"][table][key][attr]
            if fn == "Fn::Base64":
                return base64.b64encode(str(self._value(arg)).encode()).decode()
            if fn == "Fn::Select":
                index, items = arg
                return self._value(items)[int(self._value(index))]
            if fn == "Fn::Split":
                sep, text = arg
                return str(self._value(text)).split(self._value(sep))
            if fn.startswith("Fn::") or fn == "Condition":
                raise AssertionError(f"intrinsic {fn} is not modelled in infra/tests/cfn.py")
        out = {}
        for key, val in node.items():
            v = self._value(val)
            if not isinstance(v, NoValue):
                out[key] = v
        return out

    def ref(self, name: str) -> Any:
        pseudo = {
            "AWS::AccountId": ACCOUNT,
            "AWS::Region": REGION,
            "AWS::Partition": PARTITION,
            "AWS::StackName": "cdc-mask",
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        if name == "AWS::NoValue":
            return NoValue()
        if name in self.params:
            return self.params[name]
        if name in self.resources:
            return self.physical(name)
        raise AssertionError(f"Ref to {name}, which this deployment does not have")

    def sub(self, arg: Any) -> str:
        if isinstance(arg, list):
            text, extra = arg
            extra = {k: self._value(v) for k, v in extra.items()}
        else:
            text, extra = arg, {}
        out, i = [], 0
        while i < len(text):
            start = text.find("${", i)
            if start < 0:
                out.append(text[i:])
                break
            out.append(text[i:start])
            end = text.index("}", start)
            var = text[start + 2 : end]
            if var.startswith("!"):
                out.append("${" + var[1:] + "}")
            elif var in extra:
                out.append(str(extra[var]))
            elif "." in var and var.split(".", 1)[0] in self.resources:
                out.append(str(self.getatt(*var.split(".", 1))))
            else:
                out.append(str(self.ref(var)))
            i = end + 1
        return "".join(out)

    # -- physical names -------------------------------------------------------
    def _prop(self, name: str, *path: str) -> Optional[str]:
        node: Any = self.resources[name].get("Properties", {})
        for key in path:
            if not isinstance(node, dict) or key not in node:
                return None
            node = node[key]
        return self._value(node)

    def physical(self, name: str) -> str:
        """What `Ref` returns for resource `name`."""
        if name in self._names:
            return self._names[name]
        if name in self._resolving:
            raise AssertionError(f"circular name of {name}")
        self._resolving.add(name)
        kind = self.resources[name]["Type"]
        a, r = ACCOUNT, REGION
        if kind == "AWS::IAM::Role":
            out = self._prop(name, "RoleName") or f"{name}-generated"
        elif kind == "AWS::IAM::User":
            out = self._prop(name, "UserName") or f"{name}-generated"
        elif kind == "AWS::S3::Bucket":
            out = self._prop(name, "BucketName") or f"{name.lower()}-generated"
        elif kind == "AWS::KMS::Key":
            out = f"key-{name}"
        elif kind == "AWS::SecretsManager::Secret":
            out = f"arn:aws:secretsmanager:{r}:{a}:secret:{self._prop(name, 'Name')}-AbCdEf"
        elif kind == "AWS::Kinesis::Stream":
            out = self._prop(name, "Name")
        elif kind in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
            out = self._prop(name, "FunctionName") or f"{name}-generated"
        elif kind == "AWS::Glue::Database":
            out = self._prop(name, "DatabaseInput", "Name")
        elif kind == "AWS::Glue::Table":
            out = self._prop(name, "TableInput", "Name")
        elif kind == "AWS::LakeFormation::Tag":
            out = self._prop(name, "TagKey")
        elif kind == "AWS::Logs::LogGroup":
            out = self._prop(name, "LogGroupName")
        elif kind in ("AWS::Athena::WorkGroup", "AWS::CloudWatch::Dashboard"):
            out = self._prop(name, "Name") or self._prop(name, "DashboardName")
        else:
            out = f"{name}-physical-id"
        self._resolving.discard(name)
        self._names[name] = out
        return out

    def getatt(self, name: str, attr: str) -> str:
        kind = self.resources[name]["Type"]
        a, r = ACCOUNT, REGION
        phys = self.physical(name)
        if attr == "Arn":
            return {
                "AWS::IAM::Role": f"arn:aws:iam::{a}:role/{phys}",
                "AWS::IAM::User": f"arn:aws:iam::{a}:user/{phys}",
                "AWS::S3::Bucket": f"arn:aws:s3:::{phys}",
                "AWS::KMS::Key": f"arn:aws:kms:{r}:{a}:key/{phys}",
                "AWS::Kinesis::Stream": f"arn:aws:kinesis:{r}:{a}:stream/{phys}",
                "AWS::Serverless::Function": f"arn:aws:lambda:{r}:{a}:function:{phys}",
                "AWS::Lambda::Function": f"arn:aws:lambda:{r}:{a}:function:{phys}",
                "AWS::Logs::LogGroup": f"arn:aws:logs:{r}:{a}:log-group:{phys}:*",
                "AWS::KinesisFirehose::DeliveryStream": f"arn:aws:firehose:{r}:{a}:deliverystream/{phys}",
            }.get(kind, f"arn:aws:{kind}:{r}:{a}:{phys}")
        return f"{phys}.{attr}"

    def properties(self, name: str) -> Dict[str, Any]:
        return self._value(self.resources[name].get("Properties", {}))

    def of_type(self, kind: str):
        return [name for name, r in self.resources.items() if r["Type"] == kind]


def deployment(params: Optional[Mapping[str, str]] = None, template: Optional[Dict[str, Any]] = None) -> Resolved:
    """The expanded template resolved for `params` (defaults otherwise)."""
    return Resolved(template if template is not None else expand(load()), params)


def main(argv: list) -> int:
    if len(argv) != 3 or argv[1] != "expand":
        print("usage: cfn.py expand TEMPLATE", file=sys.stderr)
        return 2
    path = Path(argv[2])
    json.dump(expand(load(path), path), sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
