#!/usr/bin/python3
"""A client in another language: Debian's Python grpcio, stubs generated from protos/ only.

Starts duban-units on a free port, then creates, imports, lists and resolves, checks health
and reflection, and reads google.rpc.BadRequest field violations from a failed call.
Usage: python_client_test.py DUBAN_UNITS_BINARY PROTOS_DIR
"""
import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

GOOGLEAPIS = "/usr/share/gocode/src/github.com/gogo/googleapis"
GRPC_PROTO = "/usr/share/grpc-proto"

BINARY, PROTOS = sys.argv[1], sys.argv[2]
del sys.argv[1:3]
WORK = tempfile.mkdtemp(prefix="duban-py-")
atexit.register(shutil.rmtree, WORK, ignore_errors=True)
GEN = os.path.join(WORK, "gen")
os.makedirs(GEN)
# grpc.health / grpc.reflection would be shadowed by the grpcio package itself, so their
# files are compiled under another directory name (the proto package stays the same).
EXTRA = os.path.join(WORK, "extra", "grpcext")
os.makedirs(EXTRA)
for src, dst in ((f"{GRPC_PROTO}/grpc/health/v1/health.proto", "health.proto"),
                 (f"{GRPC_PROTO}/grpc/reflection/v1alpha/reflection.proto", "reflection.proto")):
    with open(src) as f, open(os.path.join(EXTRA, dst), "w") as out:
        out.write(f.read())
subprocess.run(
    ["protoc", f"-I{PROTOS}", f"-I{GOOGLEAPIS}", f"-I{os.path.dirname(EXTRA)}", "-I/usr/include",
     f"--python_out={GEN}", f"--grpc_out={GEN}",
     "--plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin",
     "duban/units/v1/units.proto", "google/rpc/status.proto", "google/rpc/error_details.proto",
     "grpcext/health.proto", "grpcext/reflection.proto"],
    check=True)
sys.path.insert(0, GEN)

import grpc  # noqa: E402
from duban.units.v1 import units_pb2 as pb, units_pb2_grpc as rpc  # noqa: E402
from google.rpc import error_details_pb2, status_pb2  # noqa: E402
from grpcext import health_pb2, health_pb2_grpc  # noqa: E402
from grpcext import reflection_pb2, reflection_pb2_grpc  # noqa: E402


def violations(err):
    """Field names of the BadRequest in a failed call's status details."""
    for key, value in err.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            st = status_pb2.Status.FromString(value)
            out = []
            for any_msg in st.details:
                br = error_details_pb2.BadRequest()
                if any_msg.Unpack(br):
                    out += [v.field for v in br.field_violations]
            return out
    return []


class PythonClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = subprocess.Popen(
            [BINARY, "--listen", "127.0.0.1:0", "--data-dir", os.path.join(WORK, "data"),
             "--log-level", "warn"], stdout=subprocess.PIPE, text=True)
        line = cls.server.stdout.readline()
        assert line.startswith("LISTENING "), line
        cls.channel = grpc.insecure_channel(line.split()[1])
        grpc.channel_ready_future(cls.channel).result(timeout=20)
        cls.stub = rpc.UnitServiceStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        cls.server.terminate()
        cls.server.wait(timeout=10)

    def test_1_health_and_reflection(self):
        health = health_pb2_grpc.HealthStub(self.channel)
        resp = health.Check(health_pb2.HealthCheckRequest(service="duban.units.v1.UnitService"))
        self.assertEqual(resp.status, health_pb2.HealthCheckResponse.SERVING)
        refl = reflection_pb2_grpc.ServerReflectionStub(self.channel)
        answers = refl.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(
            list_services="")]))
        names = [s.name for a in answers for s in a.list_services_response.service]
        self.assertIn("duban.units.v1.UnitService", names)

    def test_2_create_import_list_resolve(self):
        s = self.stub
        s.CreateUnit(pb.CreateUnitRequest(unit=pb.Unit(
            id="gd", name="广东省", kind=pb.UNIT_KIND_PROVINCE), request_id="py-1"))
        again = s.CreateUnit(pb.CreateUnitRequest(unit=pb.Unit(
            id="gd", name="广东省", kind=pb.UNIT_KIND_PROVINCE), request_id="py-1"))
        self.assertEqual(again.etag, "1")

        def rows():
            yield pb.ImportUnitsRequest(mode=pb.ImportUnitsRequest.ALL_OR_NOTHING, units=[
                pb.Unit(id=f"gd.zq.b{i}", name=f"第{i}党支部", kind=pb.UNIT_KIND_PARTY_BRANCH,
                        parent_id="gd.zq") for i in range(120)])
            yield pb.ImportUnitsRequest(units=[pb.Unit(
                id="gd.zq", name="肇庆市", kind=pb.UNIT_KIND_CITY, parent_id="gd", tags=["五区"])])
        result = s.ImportUnits(rows())
        self.assertEqual(result.created, 121)
        self.assertTrue(result.applied)

        ids, token = [], ""
        while True:
            page = s.ListUnits(pb.ListUnitsRequest(subtree_of="gd.zq", page_size=50,
                                                   page_token=token))
            ids += [u.id for u in page.units]
            token = page.next_page_token
            if not token:
                break
        self.assertEqual(len(ids), 121)
        counts = s.CountUnits(pb.CountUnitsRequest(root_id="gd"))
        self.assertEqual(counts.total, 122)

        s.AddContact(pb.AddContactRequest(contact=pb.Contact(
            unit_id="gd.zq", role=pb.CONTACT_ROLE_SUPERVISOR, person_name="督导",
            email="duzhi@example.gov.cn", locale="en")))
        res = s.ResolveRecipients(pb.ResolveRecipientsRequest(queries=[
            pb.ResolveRecipientsRequest.Query(unit_id="gd.zq.b7", level=2)]))
        self.assertEqual(res.resolutions[0].resolved_unit_id, "gd.zq")
        self.assertEqual(res.resolutions[0].recipients[0].locale, "en")

    def test_3_errors_name_their_fields(self):
        with self.assertRaises(grpc.RpcError) as cm:
            self.stub.CreateUnit(pb.CreateUnitRequest(unit=pb.Unit(
                id="gd.x", name="", kind=pb.UNIT_KIND_TOWN, parent_id="gd")))
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertEqual(violations(cm.exception), ["unit.name"])
        with self.assertRaises(grpc.RpcError) as cm:
            self.stub.CreateUnit(pb.CreateUnitRequest(unit=pb.Unit(
                id="gd.x", name="某镇", kind=pb.UNIT_KIND_TOWN, parent_id="gd.nowhere")))
        self.assertEqual(cm.exception.code(), grpc.StatusCode.NOT_FOUND)
        self.assertEqual(violations(cm.exception), ["unit.parent_id"])
        with self.assertRaises(grpc.RpcError) as cm:
            self.stub.ListUnits(pb.ListUnitsRequest(page_size=-1))
        self.assertEqual(violations(cm.exception), ["page_size"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
