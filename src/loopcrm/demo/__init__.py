"""Demo data: a believable bilingual company with two years of customers, orders and interactions.

`loopcrm demo --customers N --seed S` and `loopcrm quickstart` call `load_demo`. What it makes:

- an organisation: 总部 head office; 客户服务部 Customer Service with the teams 热线组 Hotline and
  在线组 Online; a sales centre over 华东 / 华南 / International Sales; 市场部 Marketing; 质量管理部
  Quality — and a user for every role. Demo users share one password: LOOPCRM_DEMO_PASSWORD if set,
  else ``loopcrm-demo`` (the `admin` account is never touched);
- N customers (about 80 % people in China, 15 % abroad, 5 % organisations with contact persons),
  tags, source channels, owners in the departments, consent records;
- a catalogue of appliances, phones, kitchenware, accessories and service plans in CNY;
- orders over the last two years, busiest around 618 and 双十一 and quiet at the Spring Festival,
  with repeat buyers, a few big spenders and lapsed customers;
- interactions on every channel with touchpoints and journey stages that follow the orders;
- the service desk: SLA calendars (China's holidays and 调休 days) and policies, a ticket for every
  service touch with its conversation, event log, SLA clocks and standard-process steps;
- the voice of the customer: CSAT, CES and NPS answers that follow the service reality, follow-ups;
- the loyalty programme's members and points ledger; customer value (RFM, tiers, CLV) and segments;
- the improvement story the engine finds on its own (demo/story.py): the slow "diagnose" step of
  the repair process, Guangdong's complaints rising over the last nine weeks on a control chart,
  and a finished PDCA cycle whose complaint process v2 cut first response (demo/improvement.py;
  skipped while the improvement tables have no migrations).

Determinism: the same seed and the same reference day give the same rows. The reference day is
today (in TIME_ZONE) so dashboards show recent activity; set LOOPCRM_DEMO_TODAY=YYYY-MM-DD (or pass
`today=`) to reproduce a load exactly on another day. Nothing happens after midnight at the start
of the reference day.

The demo loads only into an empty database (no customers, orders, products, nor the demo's
departments or users); otherwise it says why and adds nothing. `demo_loaded()` is true once the
demo's head office department exists.
"""

from loopcrm.demo.load import DemoSummary, demo_loaded, load_demo

__all__ = ["DemoSummary", "demo_loaded", "load_demo"]
