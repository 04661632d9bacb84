# ruff: noqa: E501 - word tables read better one topic per line
"""Word lists of the text analysis: sentiment, negation, degree, topics and root-cause branches.

Written for an appliance and e-commerce retailer (delivery, installation, product quality, service
attitude, price, refunds, repairs, stores and the web shop). Weights: +1 mildly positive … +2 strongly;
the same for negative. Multi-word English entries are matched on the token sequence.
"""

from __future__ import annotations

# --- Chinese -------------------------------------------------------------------------------------

POSITIVE_ZH: dict[str, float] = {
    "满意": 1.5, "很满意": 2, "非常满意": 2, "好": 1, "很好": 1.5, "不错": 1.2, "挺好": 1.2, "棒": 1.5, "很棒": 2,
    "快": 0.8, "很快": 1.2, "及时": 1.2, "准时": 1.2, "专业": 1.2, "耐心": 1.2, "热情": 1.2, "周到": 1.2,
    "给力": 1.5, "划算": 1.2, "实惠": 1.2, "推荐": 1.2, "喜欢": 1.2, "点赞": 1.5, "省心": 1.2, "方便": 1,
    "干净": 1, "安静": 1, "细心": 1.2, "负责": 1, "靠谱": 1.2, "值": 1, "很值": 1.5, "好评": 1.5, "感谢": 1.2,
    "谢谢": 1, "贴心": 1.5, "完美": 2, "流畅": 1, "清晰": 1, "漂亮": 1, "结实": 1, "到位": 1, "高效": 1.2,
    "顺利": 1.2, "惊喜": 1.5, "物美价廉": 1.5, "性价比高": 1.5, "放心": 1.2, "舒服": 1.2, "好用": 1.5,
    "整齐": 1, "规范": 1, "麻利": 1.2, "礼貌": 1.2, "清楚": 0.8, "五星": 1.5, "有经验": 1, "人性化": 1.2,
    "精致": 1.2, "稳定": 0.8, "齐全": 1, "合理": 0.8, "透明": 1, "辛苦": 0.5, "很足": 1, "实用": 1.2,
    "一如既往": 1, "解放双手": 1.5, "省水": 1, "省电": 1, "省钱": 1.2, "便宜": 0.8, "棒极了": 2, "开心": 1.2,
    "完好无损": 1, "热心": 1.2, "客气": 1, "及时性": 0.5, "解决": 0.6, "搞定": 1, "修好": 1, "神速": 1.5,
    "体验很好": 1.5, "很有": 0.3, "很强": 0.8, "大": 0.2, "很大": 0.5, "优惠": 0.5, "力度": 0.5, "免息": 0.8,
    "合适": 0.8, "符合": 0.5, "对得起": 1, "很快就": 1,
}

NEGATIVE_ZH: dict[str, float] = {
    "差": 1.5, "很差": 2, "太差": 2, "慢": 1, "太慢": 1.5, "失望": 1.5, "垃圾": 2, "坑": 1.5, "投诉": 1.2,
    "生气": 1.5, "糟糕": 1.8, "敷衍": 1.5, "推诿": 1.5, "拖": 1, "拖延": 1.2, "迟迟": 1, "不理": 1.2, "坏": 1.2,
    "坏了": 1.5, "故障": 1.2, "漏水": 1.5, "噪音": 1, "异响": 1.2, "破损": 1.5, "划痕": 1.2, "损坏": 1.5,
    "麻烦": 1, "贵": 1, "太贵": 1.5, "骗": 1.8, "欺骗": 2, "虚假": 1.8, "不满": 1.5, "不满意": 1.5, "愤怒": 2,
    "恶劣": 2, "无语": 1.5, "后悔": 1.5, "上当": 1.8, "延误": 1.2, "错发": 1.2, "漏发": 1.2, "脏": 1, "乱收费": 2,
    "加价": 1, "粗暴": 1.8, "失联": 1.5, "不靠谱": 1.8, "踢皮球": 1.8, "推卸责任": 1.8, "答非所问": 1.5,
    "爱答不理": 1.8, "一问三不知": 1.8, "不耐烦": 1.5, "骂人": 2, "挂": 1, "过分": 1.5, "闪退": 1.5, "卡住": 1.2,
    "失败": 1.2, "不一致": 1.2, "不一样": 0.8, "裂缝": 1.5, "凹痕": 1.2, "摔": 1.2, "瘪": 1.2, "湿": 0.8,
    "怪味": 1.5, "塑料味": 1.2, "烧": 1.2, "掉涂层": 1.5, "糊": 1, "担心": 0.8, "睡不着": 1.5, "嗡嗡": 0.8,
    "不准": 1.2, "不灵敏": 1.2, "太短": 1, "太小": 1, "太大": 0.8, "太高": 1, "太少": 1, "太多": 0.6,
    "驳回": 1.5, "拒绝": 1.2, "扣": 1, "没到账": 1.5, "卡着": 1.2, "无理由": 0.5, "不合理": 1.5, "死板": 1.5,
    "太远": 1, "太乱": 1.5, "乱": 0.8, "找不到": 1, "搜不到": 1, "缺货": 1, "太冷": 1, "太难": 1.2, "难找": 1.2,
    "看不懂": 1.2, "不透明": 1.5, "隐形消费": 1.5, "不值": 1.5, "占线": 1.2, "没人": 1.2, "没人接": 1.5,
    "耽误": 1.2, "迟到": 1.2, "摇摇晃晃": 1.2, "歪": 1, "多余": 0.8, "乱扔": 1, "不专业": 1.5, "技术不行": 1.5,
    "等了": 1, "等": 0.4, "催": 1, "瑕疵": 1.2, "问题": 0.6, "质量问题": 1.5, "毛病": 0.6, "不行": 1.2,
    "一般": 0.6, "一般般": 0.8, "简陋": 1, "可惜": 1, "坑人": 1.8, "被骗": 1.8, "失望透顶": 2.5, "再也不会": 1.5,
    "不会再": 1.2, "强硬": 1.2, "玩手机": 1.2, "不出": 0.8, "滴水": 1, "又坏": 1.5, "挤": 0.8, "没兑现": 1.5,
    "没收到": 1.2, "还没": 0.8, "至今": 0.6, "太坑": 2, "坑了": 1.5, "不愿意": 1.2, "乱收": 1.5, "不给": 1.2,
    "没有用": 1, "没用": 1, "竟然": 1, "反而": 1, "额外": 0.8, "不同": 0.6, "又说": 0.8, "没说过": 1.2,
    "多收": 1.5, "没人联系": 1.5, "不严": 1.2, "没贴好": 1.5, "往外跑": 1, "退款难": 1.5, "嫌": 0.8, "不适合": 0.8, "不满足": 0.6, "复杂": 0.8, "收费": 0.4,
}

NEGATIONS_ZH = {"不", "没", "没有", "别", "未", "无", "非", "并不", "毫无", "不太", "不够", "不是", "从不", "从没", "绝不"}

DEGREE_ZH: dict[str, float] = {
    "很": 1.4, "非常": 1.8, "特别": 1.8, "太": 1.8, "超级": 2, "超": 1.6, "极其": 2, "极": 1.8, "十分": 1.7,
    "挺": 1.2, "比较": 1.1, "有点": 0.8, "有些": 0.8, "稍微": 0.6, "略": 0.6, "最": 2, "真": 1.4, "真的": 1.4,
    "相当": 1.5, "实在": 1.5, "巨": 2, "好": 1.3, "更": 1.3, "越来越": 1.4, "完全": 1.5, "根本": 1.5, "一点": 0.6,
}

CONTRAST_ZH = {"但是", "但", "可是", "不过", "却", "然而", "可惜", "就是"}

# --- English -------------------------------------------------------------------------------------

POSITIVE_EN: dict[str, float] = {
    "good": 1, "great": 1.5, "excellent": 2, "amazing": 2, "awesome": 2, "wonderful": 2, "perfect": 2,
    "perfectly": 1.5, "fast": 0.8, "quick": 0.8, "quickly": 0.8, "prompt": 1.2, "promptly": 1.2, "punctual": 1.2,
    "friendly": 1.2, "helpful": 1.5, "professional": 1.2, "polite": 1.2, "courteous": 1.2, "patient": 1.2,
    "careful": 1, "tidy": 1, "neat": 1, "clean": 0.8, "spotless": 1.5, "quiet": 1, "happy": 1.5, "satisfied": 1.5,
    "love": 1.8, "loved": 1.8, "like": 0.8, "nice": 1, "easy": 1, "smooth": 1, "smoothly": 1, "convenient": 1.2,
    "recommend": 1.5, "thanks": 1, "thank": 1, "appreciated": 1.2, "appreciate": 1.2, "best": 1.5, "vivid": 1,
    "stunning": 1.8, "beautiful": 1.2, "solid": 1, "comfortable": 1.2, "efficient": 1.2, "value": 0.8,
    "deal": 0.8, "cheaper": 0.8, "cheap": 0.5, "saved": 1, "useful": 1.2, "transparent": 1, "experienced": 1,
    "fixed": 0.8, "sorted": 1, "solved": 1, "stable": 0.8, "fine": 0.6, "ok": 0.3, "okay": 0.3,
    "thoughtful": 1.5, "clear": 0.8, "clearly": 0.6, "works": 0.6, "well": 0.6, "accurate": 1, "reliable": 1.2,
    "delighted": 2, "fantastic": 2, "superb": 2, "pleased": 1.5, "impressed": 1.5, "right": 0.3,
    "plenty": 0.8, "strong": 0.6, "huge": 0.5, "sensible": 0.8, "easily": 0.8, "fair": 0.8, "kind": 1.2,
    "knowledgeable": 1.2, "knew": 0.5, "stars": 0.8, "worth": 1, "discounts": 0.6, "matches": 0.8,
    "match": 0.8, "updated": 0.8, "expected": 0.3,
}

NEGATIVE_EN: dict[str, float] = {
    "bad": 1.5, "poor": 1.5, "terrible": 2, "awful": 2, "horrible": 2, "worst": 2, "rude": 1.8, "slow": 1,
    "slowly": 1, "late": 1.2, "delayed": 1.2, "broken": 1.5, "broke": 1.5, "damaged": 1.5, "dent": 1.2,
    "dented": 1.2, "scratch": 1.2, "scratched": 1.2, "cracked": 1.5, "crushed": 1.2, "leak": 1.5,
    "leaking": 1.5, "leaked": 1.5, "noisy": 1.2, "loud": 0.8, "noise": 0.8, "rattles": 1.2, "hums": 1,
    "faulty": 1.5, "defective": 1.5, "defect": 1.2, "fault": 1, "useless": 1.8, "disappointed": 1.8,
    "disappointing": 1.8, "angry": 1.8, "unacceptable": 2, "ridiculous": 1.8, "overpriced": 1.5,
    "overcharged": 1.8, "expensive": 1, "pricey": 0.6, "rip-off": 2, "scam": 2, "cheated": 2, "ignored": 1.5,
    "dismissive": 1.5, "blaming": 1.2, "pushy": 1.2, "pushing": 1, "swore": 2, "wrong": 1.2, "missing": 1.2,
    "mess": 1.2, "messy": 1.2, "crooked": 1.2, "wobbles": 1.2, "refused": 1.5, "denied": 1.5,
    "rejected": 1.5, "deducted": 1, "stuck": 1.2, "failed": 1.2, "failing": 1.2, "crashing": 1.5,
    "freezing": 0.8, "hassle": 1.2, "nightmare": 2, "impossible": 1.5, "rigid": 1.2, "far": 0.5, "tiny": 0.8,
    "crammed": 1, "waited": 1, "waiting": 0.8, "wait": 0.6, "never": 0.8, "nobody": 1.2, "dripping": 1,
    "burned": 1.2, "burns": 1.2, "smells": 0.8, "afraid": 1, "peeling": 1.2, "died": 1.5, "flimsy": 1,
    "mediocre": 1, "shame": 1, "disappointment": 1.8, "speechless": 1.5, "meh": 0.8, "annoying": 1.5,
    "frustrating": 1.8, "frustrated": 1.8, "unhappy": 1.8, "problem": 0.6, "problems": 0.6, "issue": 0.3,
    "chased": 1, "complain": 1.2, "complaint": 1.2, "hung": 1, "busy": 0.6, "wet": 0.8, "soaking": 1,
    "lower": 0.6, "off": 0.4, "short": 0.6, "loose": 1, "strange": 0.8, "void": 1, "barely": 1,
    "unclear": 1, "confusing": 1.2, "no-show": 1.5, "lost": 0.6, "stopped": 1, "worse": 1.5, "again": 0.3,
    "extra": 0.5, "too": 0.4, "hidden": 0.8, "dropped": 0.8, "drilled": 0.5, "left": 0.3,
    "different": 0.6, "higher": 0.5, "charged": 0.8, "properly": -0.8,
}

NEGATIONS_EN = {"not", "no", "never", "n't", "nobody", "nothing", "hardly", "without", "neither", "nor",
                "cannot", "cant", "dont", "didnt", "doesnt", "isnt", "wasnt", "wont", "havent", "hasnt",
                "don't", "didn't", "doesn't", "isn't", "wasn't", "won't", "haven't", "hasn't", "can't", "couldn't"}

DEGREE_EN: dict[str, float] = {
    "very": 1.5, "really": 1.4, "extremely": 2, "so": 1.4, "too": 1.4, "super": 1.6, "incredibly": 1.8,
    "quite": 1.1, "slightly": 0.6, "somewhat": 0.7, "bit": 0.7, "little": 0.7, "utterly": 2, "totally": 1.7,
    "absolutely": 1.8, "completely": 1.7, "far": 1.4, "way": 1.4, "most": 1.6, "much": 1.3, "painfully": 1.8,
    "highly": 1.5, "truly": 1.5, "pretty": 1.1,
}

CONTRAST_EN = {"but", "however", "though", "although", "yet", "shame"}

# Multi-word English phrases scored as one unit (token tuples).
PHRASES_EN: dict[tuple[str, ...], float] = {
    ("value", "for", "money"): 1.5, ("five", "stars"): 1.5, ("never", "again"): -1.5,
    ("hung", "up"): -1.8, ("no", "idea"): -1.5, ("not", "cooling"): -1.8, ("stopped", "working"): -1.8,
    ("waste", "of", "money"): -2, ("no", "response"): -1.5, ("no", "problems"): 1.5, ("no", "hidden"): 1.2,
    ("not", "pushy"): 1.2, ("never", "showed"): -1.8, ("never", "arrived"): -1.8, ("never", "got"): -1.2,
    ("nobody", "came"): -1.8, ("as", "good", "as", "ever"): 1.5, ("not", "as", "good"): -0.8,
    ("right", "away"): 1, ("on", "time"): 1.2, ("same", "day"): 0.8, ("on", "the", "spot"): 1,
    ("out", "of", "stock"): -1.2, ("did", "not", "know"): -1.2, ("under", "review"): -0.5,
    ("nothing", "special"): -0.3, ("not", "very", "satisfied"): -1.5, ("could", "not", "solve"): -1.2,
    ("far", "too"): -0.5, ("every", "time"): -0.3, ("far", "away"): -0.8,
    ("nothing", "happened"): -1.5, ("sent", "me", "back"): -1.2, ("as", "expected"): 0.1,
}

# --- topics: keyword -> topic; topic -> root-cause branch ----------------------------------------

TOPICS: dict[str, tuple[str, ...]] = {
    "delivery": (
        "送货", "配送", "快递", "物流", "发货", "到货", "送到", "送来", "送错", "派送", "快递员", "快递小哥", "送货员",
        "配送员", "送货师傅", "签收", "运输", "包裹", "送", "箱子",
        "delivery", "deliver", "delivered", "courier", "shipping", "shipped", "ship", "arrived", "arrive",
        "arriving", "parcel", "tracking", "dispatch", "driver", "box", "upstairs", "carried",
    ),
    "installation": (
        "安装", "装机", "安装师傅", "上门安装", "打孔", "调试", "装好", "装得", "装完", "装歪", "走线", "外机", "装空调",
        "install", "installation", "installed", "installer", "installers", "technician", "mounted", "drilled",
        "cabling", "crew", "hoses",
    ),
    "product_quality": (
        "质量", "坏了", "故障", "漏水", "噪音", "异响", "不制冷", "制冷", "划痕", "裂缝", "做工", "结实", "质量问题",
        "屏幕", "竖线", "涂层", "怪味", "塑料味", "烧", "面板", "封条", "脱水", "声音", "响声", "吸力", "画质",
        "quality", "broken", "broke", "faulty", "defective", "defect", "noise", "noisy", "loud", "leak", "leaking",
        "leaked", "cooling", "screen", "cracked", "peeling", "coating", "smells", "burned", "finish", "build",
        "rattles", "hums", "seal", "suction", "spin", "display", "panel",
    ),
    "product_function": (
        "功能", "效果", "好用", "省电", "省水", "加热", "容量", "续航", "遥控器", "说明书", "颜色", "火力", "出水量",
        "温度", "干净", "操作",
        "feature", "features", "function", "works", "efficient", "battery", "remote", "manual", "colors", "color",
        "capacity", "temperature", "picture", "power", "flow", "heats", "comfortable",
    ),
    "service_attitude": (
        "客服", "态度", "服务态度", "耐心", "热情", "敷衍", "专业", "礼貌", "店员", "导购", "销售", "工作人员", "售后人员",
        "售后专员", "客服小姐姐", "推销", "骂人", "不耐烦", "爱答不理", "一问三不知", "推卸责任",
        "agent", "staff", "rude", "polite", "friendly", "helpful", "attitude", "rep", "support", "salesperson",
        "associate", "courteous", "dismissive", "patient", "specialist", "customer", "service",
    ),
    "waiting_response": (
        "回电", "回复", "等通知", "占线", "踢皮球", "机器人", "转人工", "答非所问", "进度", "没人联系", "兑现", "补偿",
        "callback", "reply", "chatbot", "hotline", "busy", "contacted", "status", "promised", "compensation",
        "manufacturer",
    ),
    "price": (
        "价格", "贵", "便宜", "降价", "差价", "优惠", "性价比", "划算", "实惠", "涨价", "运费", "收费", "价位", "补贴",
        "延保", "会员价", "免息", "分期", "赠品", "积分", "活动价", "活动", "保价", "隐形消费", "上楼费", "辅材费",
        "检测费", "上门费", "配件费", "维修费", "手续费", "滤芯",
        "price", "prices", "pricing", "expensive", "cheap", "cheaper", "discount", "discounts", "overcharged",
        "fee", "fees", "cost", "costs", "overpriced", "sale", "deal", "credit", "warranty", "installments",
        "gift", "points", "charged", "charges", "pricey", "rip-off", "filters", "protection",
    ),
    "refund_return": (
        "退款", "退货", "换货", "退钱", "退换", "退换货", "退回", "到账", "取件", "七天无理由", "运费险",
        "refund", "refunded", "return", "returns", "exchange", "exchanged", "replacement", "replacements",
    ),
    "repair": (
        "维修", "保修", "售后", "报修", "返修", "修好", "修了", "配件", "检测", "维修点", "维修师傅",
        "repair", "repaired", "repairs", "repairman", "fixed", "parts", "part", "inspection", "after-sales",
    ),
    "store": (
        "门店", "店里", "展厅", "停车", "商场", "店面", "样机", "体验区", "导航",
        "store", "showroom", "shop", "parking", "mall", "display", "models", "maps",
    ),
    "website_app": (
        "官网", "网站", "APP", "app", "小程序", "页面", "下单", "付款", "支付", "闪退", "库存", "界面", "入口", "优惠券",
        "website", "checkout", "payment", "ordering", "crashing", "navigate", "link", "coupon", "online",
        "mini", "program",
    ),
    "packaging": ("包装", "泡沫", "packaging", "packed", "foam", "cardboard"),
}

# Appliance names: a weak hint that a comment is about the product when nothing else names a topic.
PRODUCT_NOUNS = (
    "冰箱", "洗衣机", "空调", "电视", "热水器", "油烟机", "燃气灶", "洗碗机", "净水器", "微波炉", "烤箱", "电饭煲",
    "吸尘器", "扫地机器人", "破壁机", "洗地机", "吹风机", "加湿器", "电风扇", "空气净化器", "电热水壶", "智能马桶", "产品",
    "fridge", "refrigerator", "washer", "washing", "conditioner", "tv", "heater", "microwave", "oven", "dishwasher",
    "purifier", "vacuum", "blender", "kettle", "humidifier", "fan", "stove", "toilet", "product", "dryer",
)

# Some topics weigh more when comments name several (a fee named beside a repair is about the fee).
TOPIC_WEIGHT = {"price": 1.5, "service_attitude": 0.8, "waiting_response": 1.2, "refund_return": 1.2}

# Where each topic's complaints are caused (the fishbone branches of service.RootCause.Branch).
TOPIC_BRANCH: dict[str, str] = {
    "delivery": "partner",
    "installation": "partner",
    "product_quality": "product",
    "product_function": "product",
    "packaging": "product",
    "service_attitude": "people",
    "waiting_response": "process",
    "refund_return": "process",
    "repair": "process",
    "price": "policy",
    "store": "place",
    "website_app": "place",
}

# When several topics tie, the more specific one wins (lower index first).
TOPIC_PRIORITY = (
    "price", "refund_return", "waiting_response", "installation", "delivery", "repair", "website_app", "store",
    "service_attitude", "product_quality", "product_function", "packaging",
)

BRANCHES = ("people", "process", "product", "policy", "place", "partner")
