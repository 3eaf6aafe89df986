"""Regressions for what the schemathesis fuzz run (tests/fuzz) found, one test per finding."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_openapi_declares_fhir_answers_as_json_not_as_a_string(client: TestClient) -> None:
    # FHIRJSONResponse was a plain Response, so /openapi.json said every FHIR route answers a
    # JSON *string*; a schema-checking client then rejected every CapabilityStatement.
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/fhir/metadata", "/fhir/CodeSystem/$lookup", "/fhir/ValueSet/$expand"):
        content = paths[path]["get"]["responses"]["200"]["content"]
        assert content["application/fhir+json"]["schema"].get("type") != "string", path
    r = client.get("/fhir/metadata")
    assert r.headers["content-type"].startswith("application/fhir+json")
    assert r.json()["resourceType"] == "CapabilityStatement"


def test_scalar_json_bodies_are_client_errors(client: TestClient) -> None:
    for body in (b"0", b"null", b"true", b'"x"', b"99999999999999999999999"):
        r = client.post("/workbench/api/projects", content=body,
                        headers={"Content-Type": "application/json"})
        assert 400 <= r.status_code < 500, (body, r.status_code, r.text)


def test_nul_characters_in_uploads_are_bad_rows(client: TestClient) -> None:
    files = {"file": ("lab.csv", b"code;display\nA\x00B;x\nC;y\nD;z\x00\n", "text/csv")}
    r = client.post("/workbench/api/codesystems/import", files=files,
                    data={"url": "http://example.org/CodeSystem/nul-lab", "version": "1",
                          "code_column": "code", "display_column": "display"})
    assert r.status_code in (200, 201), r.text
    text = r.text
    assert "NUL" in text and text.count("NUL") == 2


def test_nul_characters_in_a_csv_map_are_bad_rows() -> None:
    from mappings.mapimport import decisions_from_csv

    found = decisions_from_csv(b"source_code,target_code\nK\x00,a\nL,b\n")
    assert [d.source_code for d in found] == ["L"]
    assert [b.line for b in found.bad_rows] == [2] and "NUL" in found.bad_rows[0].reason
