"""Use cases of the records service (DESIGN §5): one transaction each, validate first, write nothing on error.

The service calls the rules (never re-implements them) and the store's repository. Every method
takes ``by`` — who acts — which the store keeps on every row it writes.

    svc = RecordsService.open("sqlite:///yibao.db")
    psn = svc.register_person(by="clerk-1", name="张三", documents=[("01", "110101199003070011", None)])
    rel = svc.enroll(psn, by="clerk-1", insutype="310", region="510500", psn_type="1101", start=date(2025, 3, 1))
    svc.covered_on(psn, date(2025, 6, 1))
"""

from yibao.service.records import RecordsService

__all__ = ["RecordsService"]
