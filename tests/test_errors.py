"""Typed errors survive the trip to and from a worker process (pickling)."""

from __future__ import annotations

import pickle

from yibao.errors import YibaoError
from yibao.policy import UNKNOWN_REGION


def test_an_error_pickles_with_its_code_field_details_and_messages() -> None:
    error = YibaoError(UNKNOWN_REGION, field="enrollments[0].region", region="650100", known="510500")
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is YibaoError
    assert (back.code, back.field, back.details) == (error.code, error.field, error.details)
    assert (back.message_zh, back.message_en, str(back)) == (error.message_zh, error.message_en, str(error))
