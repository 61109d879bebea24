"""Who can do what in one deployment of the template: the IAM graph.

Built from the resolved template only (`cfn.Resolved`): IAM roles and users
(inline policies, the AWS managed policies listed in `MANAGED`), role trust
policies, KMS key policies, the lake bucket's policy and Lake Formation
grants. Each question is evaluated the way AWS evaluates a same-account
request: an explicit Deny anywhere wins; otherwise an Allow is needed from the
identity policy or, for KMS, from the key policy naming the principal (a key
policy naming the account root delegates to identity policies). Conditions
are evaluated on the request context of the question; a condition key the
model does not know fails the test rather than being guessed.

Principals outside the template appear by name: `deployer` (the
LakeFormationAdminArn parameter: Lake Formation admin and key administrator)
and `macie` (Macie's service-linked role).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Set

from cfn import ACCOUNT, REGION, Resolved

#: AWS managed policies the template may attach, and what they grant that the
#: graph cares about (S3, KMS, Secrets Manager, Kinesis, STS): nothing.
MANAGED = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "arn:aws:iam::aws:policy/service-role/AmazonDMSVPCManagementRole",
    "arn:aws:iam::aws:policy/service-role/AmazonDMSCloudWatchLogsRole",
    "arn:aws:iam::aws:policy/IAMUserChangePassword",
}

#: Condition keys the model evaluates (anything else in the template fails).
KNOWN_KEYS = {
    "aws:principalarn",
    "aws:securetransport",
    "aws:multifactorauthpresent",
    "aws:sourceaccount",
    "aws:sourcearn",
    "sts:externalid",
    "s3:prefix",
    "s3:x-amz-server-side-encryption",
    "s3:x-amz-server-side-encryption-aws-kms-key-id",
    "kms:viaservice",
    "kms:keyagreementalgorithm",
    "kms:encryptioncontext:aws:s3:arn",
    "kms:encryptioncontext:aws:kinesis:arn",
    "kms:encryptioncontext:secretarn",
    "kms:encryptioncontext:cdc-mask:purpose",
}

ROOT_ARN = f"arn:aws:iam::{ACCOUNT}:root"
MACIE_ARN = (
    f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/macie.amazonaws.com/AWSServiceRoleForAmazonMacie"
)


def as_list(value: Any) -> List[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def wildcard(pattern: str, value: str, case: bool = True) -> bool:
    """IAM wildcard match: `*` any run, `?` one character, nothing else special."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, 0 if case else re.IGNORECASE) is not None


@dataclass
class Principal:
    name: str  # logical id, or "deployer" / "macie"
    arn: str
    kind: str  # role | user | external
    statements: List[Dict[str, Any]] = field(default_factory=list)  # identity policy
    trust: List[Dict[str, Any]] = field(default_factory=list)  # roles only


def condition_holds(condition: Dict[str, Any], ctx: Dict[str, Any]) -> bool:
    for op, tests in condition.items():
        if_exists = op.endswith("IfExists")
        base = op[: -len("IfExists")] if if_exists else op
        for key, expected in tests.items():
            lkey = key.lower()
            assert lkey in KNOWN_KEYS, f"condition key {key} is not modelled in infra/tests/iam_graph.py"
            if base == "Null":
                absent = lkey not in ctx
                if any(str(e).lower() == "true" for e in as_list(expected)) != absent:
                    return False
                continue
            negated = "Not" in base
            if lkey not in ctx:
                if if_exists or negated:
                    continue  # absent key: IfExists and negated operators hold
                return False
            actual = ctx[lkey]
            expected = [str(e) for e in as_list(expected)]
            if base in ("StringEquals", "StringNotEquals", "ArnEquals", "ArnNotEquals"):
                match = str(actual) in expected
            elif base in ("StringLike", "StringNotLike", "ArnLike", "ArnNotLike"):
                match = any(wildcard(e, str(actual)) for e in expected)
            elif base == "Bool":
                match = str(actual).lower() in [e.lower() for e in expected]
            else:
                raise AssertionError(f"condition operator {op} is not modelled")
            if match == negated:
                return False
    return True


def action_matches(statement: Dict[str, Any], action: str) -> bool:
    if "NotAction" in statement:
        return not any(wildcard(a, action, case=False) for a in as_list(statement["NotAction"]))
    return any(wildcard(a, action, case=False) for a in as_list(statement.get("Action")))


def resource_matches(statement: Dict[str, Any], resource: str) -> bool:
    if "NotResource" in statement:
        return not any(wildcard(r, resource) for r in as_list(statement["NotResource"]))
    return any(wildcard(r, resource) for r in as_list(statement.get("Resource")))


def principal_matches(statement: Dict[str, Any], arn: str) -> bool:
    principal = statement.get("Principal")
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    aws = as_list(principal.get("AWS"))
    return "*" in aws or arn in aws


def decide(statements: Iterable[Dict[str, Any]], action: str, resource: str, ctx: Dict[str, Any]) -> Optional[str]:
    """"Deny", "Allow" or None over identity-style statements."""
    allowed = False
    for s in statements:
        if not action_matches(s, action) or not resource_matches(s, resource):
            continue
        if not condition_holds(s.get("Condition", {}), ctx):
            continue
        if s["Effect"] == "Deny":
            return "Deny"
        allowed = True
    return "Allow" if allowed else None


class Graph:
    def __init__(self, d: Resolved) -> None:
        self.d = d
        self.principals: Dict[str, Principal] = {}
        deployer = d.params["LakeFormationAdminArn"]
        self.principals["deployer"] = Principal("deployer", deployer, "external")
        # Macie's service-linked role reads any object its jobs scan (AmazonMacieServiceRolePolicy).
        self.principals["macie"] = Principal(
            "macie", MACIE_ARN, "external",
            [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "*"}],
        )
        for kind, label in (("AWS::IAM::Role", "role"), ("AWS::IAM::User", "user")):
            for name in d.of_type(kind):
                props = d.properties(name)
                p = Principal(name, d.getatt(name, "Arn"), label)
                for policy in props.get("Policies", []):
                    p.statements += as_list(policy["PolicyDocument"]["Statement"])
                for arn in props.get("ManagedPolicyArns", []):
                    assert arn in MANAGED, f"{name}: managed policy {arn} is not modelled"
                if label == "role":
                    p.trust = as_list(props["AssumeRolePolicyDocument"]["Statement"])
                self.principals[name] = p
        for name in d.of_type("AWS::IAM::ManagedPolicy") + d.of_type("AWS::IAM::Policy"):
            props = d.properties(name)
            statements = as_list(props["PolicyDocument"]["Statement"])
            for role in props.get("Roles", []):
                self._by_physical(role, "role").statements += statements
            for user in props.get("Users", []):
                self._by_physical(user, "user").statements += statements
            assert not props.get("Groups"), f"{name}: groups are not modelled"
        self.keys = {name: d.properties(name)["KeyPolicy"] for name in d.of_type("AWS::KMS::Key")}
        self.key_arns = {name: d.getatt(name, "Arn") for name in self.keys}
        self.bucket_policies = {
            d.properties(name)["Bucket"]: as_list(d.properties(name)["PolicyDocument"]["Statement"])
            for name in d.of_type("AWS::S3::BucketPolicy")
        }
        self.lake = d.physical("LakeBucket")
        self.lake_key = "LakeKey"

    def _by_physical(self, physical: str, kind: str) -> Principal:
        for p in self.principals.values():
            if p.kind == kind and p.arn.endswith("/" + physical):
                return p
        raise AssertionError(f"no {kind} named {physical}")

    def name_of(self, arn: str) -> str:
        for p in self.principals.values():
            if p.arn == arn:
                return p.name
        return arn

    # -- identity and resource policies ----------------------------------------
    def ctx(self, p: Principal, **extra: Any) -> Dict[str, Any]:
        ctx = {"aws:principalarn": p.arn, "aws:securetransport": "true"}
        ctx.update({k.lower().replace("__", ":"): v for k, v in extra.items()})
        return ctx

    def identity(self, p: Principal, action: str, resource: str, ctx: Dict[str, Any]) -> bool:
        return decide(p.statements, action, resource, ctx) == "Allow"

    def bucket_allows(self, p: Principal, action: str, resource: str, ctx: Dict[str, Any]) -> bool:
        """Same account: the identity policy must allow and the bucket policy must not deny."""
        bucket = resource.split(":::", 1)[1].split("/", 1)[0]
        statements = [s for s in self.bucket_policies.get(bucket, []) if principal_matches(s, p.arn)]
        if decide(statements, action, resource, ctx) == "Deny":
            return False
        return self.identity(p, action, resource, ctx)

    def key_allows(self, key: str, p: Principal, action: str, ctx: Dict[str, Any]) -> bool:
        statements = as_list(self.keys[key]["Statement"])
        arn = self.key_arns[key]
        direct = [s for s in statements if principal_matches(s, p.arn)]
        verdict = decide(direct, action, "*", ctx)
        if verdict == "Deny":
            return False
        if verdict == "Allow":
            return True
        # A statement naming the account root delegates to identity policies.
        delegated = [s for s in statements if principal_matches(s, ROOT_ARN)]
        if decide(delegated, action, "*", ctx) == "Allow":
            return self.identity(p, action, arn, ctx)
        return False

    # -- roles: who can become whom ----------------------------------------------
    def can_assume(self, p: Principal, role: Principal) -> bool:
        ctx = self.ctx(p, **{"aws__multifactorauthpresent": "true"})
        for s in role.trust:
            if s["Effect"] != "Allow" or not action_matches(s, "sts:AssumeRole"):
                continue
            if not condition_holds(s.get("Condition", {}), ctx):
                continue
            aws = as_list((s.get("Principal") or {}).get("AWS")) if isinstance(s.get("Principal"), dict) else []
            if p.arn in aws:
                return True
            if ROOT_ARN in aws and p.kind != "external" and self.identity(p, "sts:AssumeRole", role.arn, ctx):
                return True
        return False

    def closure(self, p: Principal) -> List[Principal]:
        """p and every role it can reach by assuming roles."""
        seen, todo = [p], [p]
        while todo:
            cur = todo.pop()
            for role in self.principals.values():
                if role.kind == "role" and role not in seen and self.can_assume(cur, role):
                    seen.append(role)
                    todo.append(role)
        return seen

    def who(self, check) -> Set[str]:
        """Every principal that, itself or through roles it can assume, passes `check`."""
        return {
            p.name for p in self.principals.values() if any(check(q) for q in self.closure(p))
        }

    # -- the questions -----------------------------------------------------------
    def object_arn(self, key: str) -> str:
        return f"arn:aws:s3:::{self.lake}/{key}"

    def reads_directly(self, p: Principal, key: str) -> bool:
        obj = self.object_arn(key)
        ctx = self.ctx(p, **{"kms__encryptioncontext__aws__s3__arn": obj, "kms__viaservice": f"s3.{REGION}.amazonaws.com"})
        return self.bucket_allows(p, "s3:GetObject", obj, ctx) and self.key_allows(self.lake_key, p, "kms:Decrypt", ctx)

    def lake_formation_views(self, p: Principal) -> Set[str]:
        """The views (LF-tag values) p may SELECT through Lake Formation."""
        views: Set[str] = set()
        admins = []
        for name in self.d.of_type("AWS::LakeFormation::DataLakeSettings"):
            admins += [a["DataLakePrincipalIdentifier"] for a in self.d.properties(name).get("Admins", [])]
        if p.arn in admins:
            views |= {"masked", "encrypted"}  # an admin can grant itself any table
        for name in self.d.of_type("AWS::LakeFormation::PrincipalPermissions"):
            props = self.d.properties(name)
            if props["Principal"]["DataLakePrincipalIdentifier"] != p.arn:
                continue
            if "SELECT" not in props["Permissions"]:
                continue
            policy = props["Resource"].get("LFTagPolicy")
            assert policy, f"{name}: only LF-tag grants are modelled"
            for expr in policy["Expression"]:
                views |= set(expr["TagValues"])
        return views

    def reads(self, p: Principal, key: str) -> bool:
        if self.reads_directly(p, key):
            return True
        view = key.split("/", 1)[0]
        if view in self.lake_formation_views(p):
            # Lake Formation vends the registered location's role credentials.
            for name in self.d.of_type("AWS::LakeFormation::Resource"):
                props = self.d.properties(name)
                if props["ResourceArn"] == f"arn:aws:s3:::{self.lake}/{view}":
                    role = self.principals[self.name_of(props["RoleArn"])]
                    return self.reads_directly(role, key)
        return False

    def writes(self, p: Principal, key: str) -> bool:
        obj = self.object_arn(key)
        ctx = self.ctx(p, **{"kms__encryptioncontext__aws__s3__arn": obj, "kms__viaservice": f"s3.{REGION}.amazonaws.com"})
        return self.bucket_allows(p, "s3:PutObject", obj, ctx) and self.key_allows(self.lake_key, p, "kms:GenerateDataKey", ctx)

    def missing_object_is_404(self, p: Principal) -> bool:
        """S3 answers a GET of a missing key 404 only to a caller allowed s3:ListBucket.
        A prefix condition is taken as not enough (S3 does not document the prefix it
        checks then), so only an unconditioned ListBucket counts."""
        bucket = f"arn:aws:s3:::{self.lake}"
        return any(
            s["Effect"] == "Allow"
            and action_matches(s, "s3:ListBucket")
            and resource_matches(s, bucket)
            and not s.get("Condition")
            for s in p.statements
        )

    def key_action(self, key: str, action: str, p: Principal, **ctx: Any) -> bool:
        return self.key_allows(key, p, action, self.ctx(p, **ctx))

    def reads_secret(self, secret: str, p: Principal) -> bool:
        arn = self.d.physical(secret)
        key_ref = self.d.properties(secret)["KmsKeyId"]
        key = next(k for k in self.keys if self.d.physical(k) == key_ref or self.key_arns[k] == key_ref)
        ctx = self.ctx(
            p, **{"kms__viaservice": f"secretsmanager.{REGION}.amazonaws.com", "kms__encryptioncontext__secretarn": arn}
        )
        return self.identity(p, "secretsmanager:GetSecretValue", arn, ctx) and self.key_allows(key, p, "kms:Decrypt", ctx)

    def reads_stream(self, p: Principal) -> bool:
        stream = self.d.getatt("ChangeStream", "Arn")
        key_ref = self.d.properties("ChangeStream")["StreamEncryption"]["KeyId"]
        key = next(k for k in self.keys if self.key_arns[k] == key_ref or self.d.physical(k) == key_ref)
        ctx = self.ctx(
            p, **{"kms__viaservice": f"kinesis.{REGION}.amazonaws.com", "kms__encryptioncontext__aws__kinesis__arn": stream}
        )
        return self.identity(p, "kinesis:GetRecords", stream, ctx) and self.key_allows(key, p, "kms:Decrypt", ctx)

    def athena_results(self, p: Principal, persona_prefix: str) -> bool:
        bucket = self.d.physical("AthenaResultsBucket")
        obj = f"arn:aws:s3:::{bucket}/results/{persona_prefix}/q.csv"
        ctx = self.ctx(p, **{"kms__encryptioncontext__aws__s3__arn": obj})
        return self.bucket_allows(p, "s3:GetObject", obj, ctx) and self.key_allows("AthenaResultsKey", p, "kms:Decrypt", ctx)

