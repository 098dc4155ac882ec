"""The gateway's JSON (gateway/jsoncodec.py): the same values as the standard
library's, faster, and what orjson refuses still read and written."""
import json

from gateway import jsoncodec

REPLY = {"result": [{"relay": {"name": "Guéret", "latitude": 46.1714, "services": []},
                     "distance_km": 0.0, "free_spaces": [{"capacity": 1, "amenities": None}],
                     "ok": True}], "error": None}


def test_a_reply_reads_and_an_answer_writes_as_the_standard_library_would():
    written = json.dumps(REPLY)
    assert jsoncodec.loads(written.encode()) == json.loads(written) == REPLY
    assert json.loads(jsoncodec.dumps(REPLY)) == REPLY
    assert "Guéret".encode() in jsoncodec.dumps(REPLY)  # UTF-8, not \\u escapes


def test_what_orjson_refuses_goes_through_the_standard_library():
    assert jsoncodec.loads(b'{"result": NaN, "error": null}')["result"] != 0  # NaN read
    huge = 2 ** 70
    assert json.loads(jsoncodec.dumps({"count": huge})) == {"count": huge}
