"""A unit's score as the lines a person reads (Chinese), shared by the XLSX and PDF reports."""

from __future__ import annotations

from typing import Any

STATUS = {"measured": "实测", "manual": "人工录入", "missing": "未录入", "unavailable": "数据不可用"}


def _orders(items: list[dict[str, Any]]) -> str:
    return "、".join(i["work_order_id"] for i in items[:20]) + ("等" if len(items) > 20 else "")


def _exempted(inputs: dict[str, Any]) -> str:
    ex = inputs.get("exempted") or []
    return f"；豁免 {len(ex)} 件：{_orders(ex)}" if ex else ""


def describe(rule: dict[str, Any]) -> str:
    """What a rule's points were computed from."""
    i, rid = rule["inputs"], rule["id"]
    if rule["status"] == "missing":
        return "本月未录入（计 0 分）"
    if rule["status"] == "unavailable":
        return "拨测数据不可用（计 0 分）"
    if rid == "knowledge_base":
        return f"人工录入 {i['points']:g} 分（{i['by']}，{i['at'][:10]}）" + (f"：{i['note']}" if i.get("note") else "")
    if rid == "phone":
        return f"不通 {i['unreachable']} 次（每次扣 {i['per']:g} 分，超过 {i['zero_above']} 次不得分）"
    if rid in ("on_time", "revisit_check"):
        what = "超期" if rid == "on_time" else "回访核实未通过"
        listed = f"：{_orders(i['orders'])}" if i["orders"] else ""
        return f"{what} {i['count']} 件{listed}{_exempted(i)}"
    if rid == "completion":
        rate = "—" if i["rate"] is None else f"{i['rate'] * 100:.1f}%"
        base = "承办" if i["base"] == "kept" else "转办"
        return (f"办结 {i['closed']} / {base} {i['kept'] if i['base'] == 'kept' else i['dispatched']}"
                f"（转办 {i['dispatched']}，回退 {i['returned']}），办结率 {rate}")
    listed = f"：{_orders(i['evaluations'])}" if i["evaluations"] else ""
    return (f"不满意 {i['unsatisfied']} 次，计 {i['counted']} 次（同一工单最多 {i['max_per_order']} 次）{listed}"
            + _exempted(i))


def adjustment(adj: dict[str, Any]) -> str:
    i = adj["inputs"]
    if adj["id"] == "bonus":
        ratio = "—" if i["ratio"] is None else f"{i['ratio'] * 100:.1f}%"
        return f"月办结量 {i['closed']}，各单位平均 {i['average']:g}（{ratio}）"
    days = "、".join(a["date"] for a in i["absences"])
    return f"无故缺席 {len(i['absences'])} 次" + (f"：{days}" if days else "")


def rows(score: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(项目, 得分, 满分, 依据) for each rule and adjustment."""
    out = [(r["name"], f"{r['points']:g}", f"{r['max']:g}", f"[{STATUS[r['status']]}] {describe(r)}")
           for r in score["rules"]]
    out += [(a["name"], f"{a['points']:+g}" if a["points"] else "0", "", adjustment(a)) for a in score["adjustments"]]
    return out


def headline(score: dict[str, Any]) -> list[tuple[str, str]]:
    flag = "是（连续 {} 个月排名后 {} 位）".format(len(score["bottom_months"]), score["ranking"]["bottom"]) \
        if score["interview"] else "否"
    return [("单位", f"{score['name']}（{score['unit']}）"), ("月份", score["month"]),
            ("总分", f"{score['total']:g}"), ("排名", f"{score['rank']} / {score['units_ranked']}"),
            ("约谈", flag), ("计算时间", score["as_of"][:19].replace("T", " ")),
            ("状态", "本月未结束，得分为临时值" if score["provisional"] else "月度得分")]
