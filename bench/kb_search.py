"""Knowledge-base search at a city's size (issue 13): 10,000 entries, p50/p95/p99 of a search.

    python bench/kb_search.py --backend sqlite --entries 10000
    python bench/kb_search.py --backend postgres --entries 10000

The entries are generated from the vocabulary of the requirement texts (the 12345 documents'
wording: units, 事项, 材料, 流程, 时限) and saved through the product's own code
(:meth:`hotline.knowledge.store.KnowledgeStore.create_many`: entry, version and search terms, 250
entries a transaction), so the index is the one the product builds. Then every query of a varied mix
(citizens' questions, single characters, ASCII words, a long pasted text, 10 KB of random Unicode,
SQL/LIKE metacharacters, words found nowhere) is timed through
:meth:`hotline.knowledge.services.KnowledgeService.search`, the code behind ``GET /api/knowledge?q=``.
Target: p95 under 100 ms. PostgreSQL runs on a throwaway server (``scripts/pg.sh``, fsync off).
Results: ``bench/results/<run id>-kb_search-<backend>.json`` and ``latest-kb_search-<backend>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from hotline.config.site import SiteConfig  # noqa: E402
from hotline.knowledge.services import KnowledgeService  # noqa: E402
from hotline.store import Store  # noqa: E402

RESULTS = REPO / "bench" / "results"
TARGET_P95_S = 0.100
UNITS = ["gongan", "renshe", "zhujian", "shiyao", "jiaotong", "minzheng", "shichang", "ziran", "weijian", "jiaoyu",
         "shuiwu", "gongjijin", "chengguan", "huanbao", "wenlv", "nongye", "tuiyi", "yiliao", "shuili", "gongxin"]
THINGS = ["居住证", "身份证", "户口迁移", "出生登记", "社保卡", "养老保险", "失业保险金", "工伤认定", "生育津贴", "医保报销",
          "公积金提取", "公积金贷款", "营业执照", "食品经营许可证", "个体工商户", "不动产登记", "房屋租赁备案", "公租房",
          "驾驶证", "机动车年检", "网约车", "出租车投诉", "占道施工", "违章建筑", "噪音扰民", "油烟污染", "垃圾清运",
          "低保", "残疾证", "老年优待证", "结婚登记", "离婚登记", "收养登记", "教师资格证", "义务教育入学", "学籍转移",
          "个人所得税", "发票代开", "退役军人优待", "燃气开户", "供水报装", "供电报装", "物业纠纷", "劳动仲裁",
          "欠薪投诉", "农村宅基地", "林木采伐许可", "取水许可", "排污许可", "医师执业注册", "药品经营许可", "导游证",
          "消防安全检查", "电动自行车登记", "流动人口登记", "护照", "港澳通行证", "死亡证明", "殡葬补贴", "高龄津贴"]
ACTIONS = ["办理", "申领", "补办", "变更", "注销", "查询", "续期", "审批", "登记", "备案"]
WORDS = ["申请人", "身份证原件", "复印件", "近期一寸照片", "户口簿", "居住登记凭证", "劳动合同", "营业执照副本",
         "申请表", "授权委托书", "承诺书", "工作日", "政务服务中心", "窗口", "网上办理", "受理", "审核", "决定",
         "送达", "公示", "免费", "按规定收取工本费", "法律法规", "暂行条例", "实施办法", "管理办法", "通知",
         "属地管理", "谁主管谁负责", "承办单位", "限时办结", "一次性告知", "容缺受理", "首问负责制", "现场核查",
         "材料齐全", "符合法定形式", "当场办结", "即办件", "承诺件", "街道", "社区", "派出所", "经办机构",
         "市民", "群众", "诉求", "咨询", "投诉", "举报", "求助", "建议", "热线", "公开", "便民", "服务", "事项"]
QUESTIONS = ["办理居住证需要哪些材料", "社保卡丢了怎么补办", "公积金提取需要什么条件", "营业执照变更在哪里办",
             "驾驶证到期换证要多久", "低保怎么申请", "噪音扰民找谁投诉", "新生儿出生登记流程", "失业保险金能领多久",
             "不动产登记收费标准", "孩子上学入学材料", "欠薪投诉怎么处理", "退役军人优待证", "护照办理时限",
             "公租房申请条件是什么", "燃气开户需要带什么", "个人所得税怎么申报", "电动自行车上牌"]
SHORT = ["证", "税", "房", "社保", "公积金", "12345", "ic", "户口"]


def sentence(rng: random.Random, n: int) -> str:
    words = [rng.choice(WORDS + THINGS) for _ in range(n)]
    return "，".join("".join(words[i:i + 3]) for i in range(0, n, 3)) + "。"


def entry(rng: random.Random) -> tuple[str, dict[str, str]]:
    thing = rng.choice(THINGS)
    title = thing + rng.choice(ACTIONS) + ("" if rng.random() < 0.6 else f"（{rng.choice(WORDS)}）")
    fields = {"title": title,
              "basis": f"《{rng.choice(THINGS)}{rng.choice(['管理办法', '暂行条例', '实施细则'])}》第{rng.randint(1, 60)}条",
              "conditions": f"{thing}：" + sentence(rng, rng.randint(6, 15)),
              "materials": "、".join(rng.sample(WORDS, rng.randint(3, 7))) + "。",
              "process": "→".join(rng.sample(["申请", "受理", "审核", "决定", "送达", "公示", "领取"], 4)),
              "fees": rng.choice(["免费", "按规定收取工本费", f"{rng.randint(5, 200)}元"]),
              "location": f"{rng.choice(['市', '区', '县'])}政务服务中心{rng.randint(1, 3)}楼{rng.randint(1, 40)}号窗口",
              "time_limit": f"{rng.randint(1, 30)}个工作日",
              "notes": sentence(rng, rng.randint(6, 30))}
    return rng.choice(UNITS), fields


def queries(rng: random.Random, n: int) -> list[tuple[str, str]]:
    """(kind, text) of ``n`` varied queries."""
    out = []
    for i in range(n):
        kind = ["question", "question", "question", "short", "thing", "long", "hostile", "meta", "none"][i % 9]
        if kind == "question":
            q = rng.choice(QUESTIONS)
        elif kind == "short":
            q = rng.choice(SHORT)
        elif kind == "thing":
            q = rng.choice(THINGS) + rng.choice(ACTIONS)
        elif kind == "long":
            q = "您好，我想咨询一下，" + sentence(rng, 120)
        elif kind == "hostile":
            q = "".join(chr(rng.randrange(0x110000)) for _ in range(10_240))
        elif kind == "meta":
            q = rng.choice(["%", "_", "\\", "'", "%_\\'", "' OR 1=1 --", "😀" * 40, "\x00居住证"])
        else:
            q = "量子纠缠超导磁悬浮"
        out.append((kind, q))
    return out


def fill(kb: KnowledgeService, entries: int, seed: int) -> float:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    t = time.monotonic()
    for i in range(0, entries, 250):
        kb.entries.create_many([entry(rng) for _ in range(min(250, entries - i))], "bench", now)
        if (i + 250) % 1000 == 0:
            print(f"  {i + 250} entries, {time.monotonic() - t:.0f} s", flush=True)
    return time.monotonic() - t


def pct(times: list[float], p: float) -> float:
    ordered = sorted(times)
    return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 4)


async def measure(kb: KnowledgeService, qs: list[tuple[str, str]]) -> tuple[list[float], dict[str, Any]]:
    for _, q in qs[:20]:
        await kb.search(q, None, 10)    # warm caches
    times: list[float] = []
    by_kind: dict[str, list[float]] = {}
    hits: dict[str, list[int]] = {}
    for kind, q in qs:
        t = time.perf_counter()
        found = await kb.search(q, None, 10)
        dt = time.perf_counter() - t
        times.append(dt)
        by_kind.setdefault(kind, []).append(dt)
        hits.setdefault(kind, []).append(len(found["items"]))
    kinds = {k: {"n": len(v), "p50_s": pct(v, 0.5), "p95_s": pct(v, 0.95), "max_s": round(max(v), 4),
                 "mean_hits": round(statistics.mean(hits[k]), 1)} for k, v in by_kind.items()}
    return times, kinds


def run(url: str, args: argparse.Namespace) -> dict[str, Any]:
    store = Store(url)
    store.upgrade()
    site = SiteConfig.model_validate({"trunks": [{"name": "carrier", "host": "127.0.0.2"}], "orders": {
        "units": [{"id": u, "name": u, "leader": {"name": "王", "phone": "13800000001"}} for u in UNITS]}})
    kb = KnowledgeService(site, store)
    print(f"saving {args.entries} entries", flush=True)
    fill_s = fill(kb, args.entries, args.seed)
    from sqlalchemy import func, select, text
    from hotline.store.models import KnowledgeTermRow
    if url.startswith("postgresql"):
        # what autovacuum does to a table in service: statistics, and the visibility map that lets
        # the search read the term index without the table (a freshly bulk-loaded table has none)
        with store._engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
    with store.session() as session:
        terms = int(session.scalar(select(func.count()).select_from(KnowledgeTermRow)) or 0)
    qs = queries(random.Random(args.seed + 1), args.queries)
    times, kinds = asyncio.run(measure(kb, qs))
    top = asyncio.run(kb.search("办理居住证需要哪些材料", None, 5))
    store.close()
    p95 = pct(times, 0.95)
    return {"parameters": {"entries": args.entries, "queries": args.queries, "seed": args.seed},
            "fill_s": round(fill_s, 1), "term_rows": terms, "p50_s": pct(times, 0.5), "p95_s": p95,
            "p99_s": pct(times, 0.99), "max_s": round(max(times), 4), "pass": p95 < TARGET_P95_S,
            "by_kind": kinds, "example": {"q": "办理居住证需要哪些材料", "terms": top["terms"],
                                          "titles": [i["title"] for i in top["items"]]}}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", choices=("sqlite", "postgres"), required=True)
    ap.add_argument("--entries", type=int, default=10_000)
    ap.add_argument("--queries", type=int, default=900)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--pg-port", type=int, default=15097 + 50 * int(os.environ.get("HOTLINE_IT_SLOT", "0")))
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="kbb-"))
    work.chmod(0o755)   # the PostgreSQL server runs as its own user (scripts/pg.sh)
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    pg = REPO / "scripts" / "pg.sh"
    if args.backend == "postgres":
        url = subprocess.run([str(pg), "start", str(work / "pg"), str(args.pg_port)], check=True,
                             capture_output=True, text=True).stdout.strip()
    else:
        url = f"sqlite:///{work / 'hotline.db'}"
    try:
        result = run(url, args)
    finally:
        if args.backend == "postgres":
            subprocess.run([str(pg), "stop", str(work / "pg")], check=False)
    result = {"run_id": run_id, "mode": "kb_search", "command": " ".join([sys.executable, *sys.argv]),
              "started_at": datetime.now(UTC).isoformat(), "backend": args.backend, "cpus": os.cpu_count(),
              "target_p95_s": TARGET_P95_S, **result}
    RESULTS.mkdir(exist_ok=True)
    for name in (f"{run_id}-kb_search-{args.backend}.json", f"latest-kb_search-{args.backend}.json"):
        (RESULTS / name).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "by_kind"}, indent=2, ensure_ascii=False))
    return 0 if result["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
