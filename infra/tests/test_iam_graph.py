"""The least-privilege claim as a test: from the template alone (iam_graph.py),
who can read each lake prefix, write the policy, derive or decrypt each key,
read each secret and the raw change stream, in both destinations.

People reach data through the roles they may assume (the persona users
through their persona role, the admin user through the admin role with MFA).
`deployer` is the LakeFormationAdminArn parameter: as the only Lake Formation
admin it can grant itself any table, and as key administrator it could rewrite
any key policy; it is the stack's owner and outside this model.

The negative tests mutate the template in memory and check that the graph
sees the change, so a graph that always answered "as intended" would fail.
"""

from __future__ import annotations

import copy
from typing import Any, Dict, Set

import pytest

import cfn
from iam_graph import Graph

S3_USERS_BESIDE_THE_SAMPLE = {"Destination": "s3", "CreatePersonaUsers": "yes"}
ICEBERG_SSO_UPGRADE = {"Destination": "iceberg", "CreatePersonaUsers": "no", "LegacyKeys": "yes"}

# One object per prefix, as the writers name them.
OBJECTS = {
    "raw/": "raw/dataset/customer/LOAD00000001.csv",
    "masked/": "masked/dataset/customer/dt=2026-11-29/part.json.gz",
    "encrypted/": "encrypted/dataset/customer/dt=2026-11-29/part.json.gz",
    "quarantine/": "quarantine/unknown/unknown/dt=2026-11-29/part.json.gz",
    "control/": "control/dataset/customer/dt=2026-11-29/part.json.gz",
    "errors/": "errors/masked/processing-failed/2026-11-29/part",
    "findings/": "findings/2026/11/29/10/part",
    "policy/": "policy/policy.json",
}

ADMIN = {"QuarantineAdminRole", "LfAdminUser"}
ANALYST = {"AnalystRole", "AnalystUser"}
SCIENTIST = {"DataScientistRole", "DataScientistUser"}


def expected_readers(iceberg: bool, users: bool) -> Dict[str, Set[str]]:
    def people(s: Set[str]) -> Set[str]:
        return s if users else {n for n in s if not n.endswith("User")}

    firehose = {"FirehoseRole"} if iceberg else set()  # Iceberg delivery rewrites the tables' files
    return {
        "raw/": {"macie"},
        "masked/": people(ANALYST) | {"LfDataAccessRole", "deployer"} | firehose,
        "encrypted/": people(SCIENTIST) | {"MlTrainingRole", "LfDataAccessRole", "deployer"} | firehose,
        "quarantine/": people(ADMIN),
        "errors/": people(ADMIN),
        "control/": people(ADMIN),
        "findings/": people(ADMIN) | {"PolicyCompilerRole"},
        "policy/": people(ADMIN) | {"PolicyCompilerRole", "TransformerRole", "ReplayOperatorRole"},
    }


def expected_writers(users: bool) -> Dict[str, Set[str]]:
    admin = ADMIN if users else {"QuarantineAdminRole"}
    views = {"FirehoseRole", "ReplayOperatorRole"} | admin
    return {
        "raw/": {"DmsRawRole"},
        "masked/": views,
        "encrypted/": views,
        "quarantine/": views,
        "control/": views,
        "errors/": {"FirehoseRole"},
        "findings/": {"FindingsFirehoseRole"},
        "policy/": {"PolicyCompilerRole"} | admin,
    }


@pytest.fixture(scope="module")
def expanded() -> Dict[str, Any]:
    return cfn.expand(cfn.load())


def graph(expanded: Dict[str, Any], params: Dict[str, str]) -> Graph:
    return Graph(cfn.Resolved(copy.deepcopy(expanded), params))


@pytest.mark.parametrize("params", [S3_USERS_BESIDE_THE_SAMPLE, ICEBERG_SSO_UPGRADE], ids=["s3", "iceberg"])
def test_who_reads_each_prefix(expanded, params):
    g = graph(expanded, params)
    want = expected_readers(params["Destination"] == "iceberg", params["CreatePersonaUsers"] == "yes")
    got = {prefix: g.who(lambda p, k=key: g.reads(p, k)) for prefix, key in OBJECTS.items()}
    assert got == want


@pytest.mark.parametrize("params", [S3_USERS_BESIDE_THE_SAMPLE, ICEBERG_SSO_UPGRADE], ids=["s3", "iceberg"])
def test_who_writes_each_prefix(expanded, params):
    g = graph(expanded, params)
    want = expected_writers(params["CreatePersonaUsers"] == "yes")
    got = {prefix: g.who(lambda p, k=key: g.writes(p, k)) for prefix, key in OBJECTS.items()}
    # errors/ of the findings stream is its own path.
    got["findings-errors"] = g.who(lambda p: g.writes(p, "errors/findings/processing-failed/x"))
    want["findings-errors"] = {"FirehoseRole", "FindingsFirehoseRole"}
    assert got == want


def test_the_first_policy_can_be_written(expanded):
    g = graph(expanded, S3_USERS_BESIDE_THE_SAMPLE)
    compiler = g.principals["PolicyCompilerRole"]
    # The compiler reads the missing policy as 404 and writes it; the admin uploads one by hand.
    assert g.missing_object_is_404(compiler)
    assert g.reads(compiler, "policy/policy.json") and g.writes(compiler, "policy/policy.json")
    assert g.writes(g.principals["QuarantineAdminRole"], "policy/policy.json")
    # The transformer reads the policy object and nothing else under policy/.
    transformer = g.principals["TransformerRole"]
    assert g.reads(transformer, "policy/policy.json")
    assert not g.reads(transformer, "policy/overrides.json")


@pytest.mark.parametrize("params", [S3_USERS_BESIDE_THE_SAMPLE, ICEBERG_SSO_UPGRADE], ids=["s3", "iceberg"])
def test_who_uses_each_key(expanded, params):
    g = graph(expanded, params)
    users = params["CreatePersonaUsers"] == "yes"
    admin = ADMIN if users else {"QuarantineAdminRole"}
    writers = {"TransformerRole", "ReplayOperatorRole"} | admin
    ecdh = {"kms__keyagreementalgorithm": "ECDH"}
    assert g.who(lambda p: g.key_action("DataAgreementKey", "kms:DeriveSharedSecret", p, **ecdh)) == {"MlTrainingRole"}
    assert g.who(lambda p: g.key_action("QuarantineAgreementKey", "kms:DeriveSharedSecret", p, **ecdh)) == admin
    for key in ("DataAgreementKey", "QuarantineAgreementKey"):
        assert g.who(lambda p, k=key: g.key_action(k, "kms:GetPublicKey", p)) == writers | {"deployer"}
        for action in ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:CreateGrant"):
            assert g.who(lambda p, k=key, a=action: g.key_action(k, a, p)) == set(), (key, action)
    if params.get("LegacyKeys") == "yes":
        data = {"kms__encryptioncontext__cdc-mask__purpose": "data"}
        quarantine = {"kms__encryptioncontext__cdc-mask__purpose": "quarantine"}
        assert g.who(lambda p: g.key_action("DataKey", "kms:Decrypt", p, **data)) == {"MlTrainingRole"}
        assert g.who(lambda p: g.key_action("QuarantineKey", "kms:Decrypt", p, **quarantine)) == admin
        for key in ("DataKey", "QuarantineKey"):
            assert g.who(lambda p, k=key: g.key_action(k, "kms:GenerateDataKey", p)) == set()
    else:
        assert "DataKey" not in g.keys and "QuarantineKey" not in g.keys
    # No key lets anyone create grants (a grant could hand out Decrypt).
    for key in g.keys:
        assert g.who(lambda p, k=key: g.key_action(k, "kms:CreateGrant", p)) == set(), key


def test_who_reads_the_secrets_and_the_raw_stream(expanded):
    g = graph(expanded, S3_USERS_BESIDE_THE_SAMPLE)
    writers = {"TransformerRole", "ReplayOperatorRole"} | ADMIN
    # The deployer is who Secrets Manager acts for when the secrets are created and rotated.
    assert g.who(lambda p: g.reads_secret("TokenSecret", p)) == writers
    assert g.who(lambda p: g.reads_secret("DeterministicKeySecret", p)) == writers | {"MlTrainingRole"}
    assert g.who(g.reads_stream) == {"FirehoseRole", "ReplayOperatorRole"}


def test_each_persona_reads_only_its_own_athena_results(expanded):
    g = graph(expanded, S3_USERS_BESIDE_THE_SAMPLE)
    assert g.who(lambda p: g.athena_results(p, "analyst")) == ANALYST
    assert g.who(lambda p: g.athena_results(p, "data-scientist")) == SCIENTIST


def test_the_admin_role_needs_mfa(expanded):
    g = graph(expanded, S3_USERS_BESIDE_THE_SAMPLE)
    admin, user = g.principals["QuarantineAdminRole"], g.principals["LfAdminUser"]
    assert g.can_assume(user, admin)
    trust = admin.trust[0]
    assert trust["Condition"] == {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    # Nobody else reaches it: not the analyst, not the data scientist.
    assert {p.name for p in g.principals.values() if admin in g.closure(p)} == ADMIN


# ---- the graph sees a mistake ------------------------------------------------------------------


def mutated(expanded: Dict[str, Any], change) -> Graph:
    template = copy.deepcopy(expanded)
    change(template["Resources"])
    return Graph(cfn.Resolved(template, S3_USERS_BESIDE_THE_SAMPLE))


def statement(resources, name: str, sid: str) -> Dict[str, Any]:
    policy = resources[name]["Properties"].get("KeyPolicy") or resources[name]["Properties"]["PolicyDocument"]
    return next(s for s in policy["Statement"] if s.get("Sid") == sid)


def test_a_lake_formation_grant_of_the_encrypted_view_to_analysts_is_seen(expanded):
    def grant_both(r):
        r["AnalystTableGrant"]["Properties"]["Resource"]["LFTagPolicy"]["Expression"][0]["TagValues"] = [
            "masked", "encrypted"]

    g = mutated(expanded, grant_both)
    assert ANALYST <= g.who(lambda p: g.reads(p, OBJECTS["encrypted/"]))


def test_each_layer_stops_an_analyst_granted_encrypted_objects(expanded):
    """IAM, then the key policy, then the bucket policy: all three must open for a read."""
    get_encrypted = {
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": {"Fn::Sub": "${LakeBucket.Arn}/encrypted/*"},
    }

    def iam(r):
        r["AnalystRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"].append(get_encrypted)

    def iam_and_key(r):
        iam(r)
        s = statement(r, "LakeKey", "MlTrainingReadsTheEncryptedView")
        s["Principal"]["AWS"] = [s["Principal"]["AWS"], {"Fn::GetAtt": ["AnalystRole", "Arn"]}]

    def all_three(r):
        iam_and_key(r)
        deny = statement(r, "LakeBucketPolicy", "EncryptedViewOnlyThroughLakeFormationAndTraining")
        deny["Condition"]["ArnNotLike"]["aws:PrincipalArn"].append({"Fn::GetAtt": ["AnalystRole", "Arn"]})

    for change, reads in ((iam, False), (iam_and_key, False), (all_three, True)):
        g = mutated(expanded, change)
        assert g.reads(g.principals["AnalystRole"], OBJECTS["encrypted/"]) is reads, change.__name__


def test_a_root_delegation_on_the_data_key_is_seen(expanded):
    def delegate(r):
        r["DataAgreementKey"]["Properties"]["KeyPolicy"]["Statement"].append(
            {"Effect": "Allow", "Principal": {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}},
             "Action": "kms:*", "Resource": "*"})
        r["DataScientistRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"].append(
            {"Effect": "Allow", "Action": "kms:DeriveSharedSecret", "Resource": "*"})

    g = mutated(expanded, delegate)
    ecdh = {"kms__keyagreementalgorithm": "ECDH"}
    assert g.who(lambda p: g.key_action("DataAgreementKey", "kms:DeriveSharedSecret", p, **ecdh)) == {
        "MlTrainingRole"} | SCIENTIST


def test_the_bucket_policy_alone_keeps_other_policy_writers_out(expanded):
    def writer(r):
        r["AnalystRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"].append(
            {"Effect": "Allow", "Action": "s3:PutObject", "Resource": {"Fn::Sub": "${LakeBucket.Arn}/policy/*"}})
        s = statement(r, "LakeKey", "PolicyWriters")
        s["Principal"]["AWS"].append({"Fn::GetAtt": ["AnalystRole", "Arn"]})

    def writer_without_the_deny(r):
        writer(r)
        policy = r["LakeBucketPolicy"]["Properties"]["PolicyDocument"]
        policy["Statement"] = [s for s in policy["Statement"] if s.get("Sid") != "PolicyWritersOnly"]

    g = mutated(expanded, writer)
    assert not g.writes(g.principals["AnalystRole"], "policy/policy.json")
    g = mutated(expanded, writer_without_the_deny)
    assert g.writes(g.principals["AnalystRole"], "policy/policy.json")


def test_a_prefix_limited_list_right_hides_the_missing_policy(expanded):
    def limit(r):
        statements = r["PolicyCompilerRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        for s in statements:
            if s["Action"] == "s3:ListBucket":
                s["Condition"] = {"StringLike": {"s3:prefix": "findings/*"}}

    g = mutated(expanded, limit)
    assert not g.missing_object_is_404(g.principals["PolicyCompilerRole"])


def test_an_unmodelled_managed_policy_fails_the_graph(expanded):
    def attach(r):
        r["AnalystRole"]["Properties"]["ManagedPolicyArns"] = [
            "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"]

    with pytest.raises(AssertionError, match="not modelled"):
        mutated(expanded, attach)
