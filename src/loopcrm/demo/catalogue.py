"""The demo shop's catalogue: appliances, phones and gadgets, kitchenware, accessories and service plans.

Prices are realistic CNY list prices. A few models were launched or withdrawn during the two years
of history, so the catalogue changes under the orders as a real one does.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from loopcrm.commerce.models import Product, ProductCategory
from loopcrm.demo.bulk import Loader


@dataclass(frozen=True)
class Item:
    """One product as the demo knows it: names in both languages and how it is sold and serviced."""

    sku: str
    name: str  # Chinese, as the shop lists it
    name_en: str
    category: str  # a subcategory code
    price: Decimal
    installed: bool = False  # delivery is followed by an installation appointment
    launched: int = 0  # days after the start of the history when it went on sale (0: always on sale)
    withdrawn: int | None = None  # days after the start of the history when it stopped selling


# (code, parent code, name)
CATEGORIES: tuple[tuple[str, str, str], ...] = (
    ("appliances", "", "家电 Appliances"),
    ("air-conditioners", "appliances", "空调 Air conditioners"),
    ("fridges", "appliances", "冰箱 Refrigerators"),
    ("washers", "appliances", "洗衣机 Washing machines"),
    ("tvs", "appliances", "电视 TVs"),
    ("electronics", "", "手机数码 Phones & electronics"),
    ("phones", "electronics", "手机 Phones"),
    ("tablets", "electronics", "平板 Tablets"),
    ("audio", "electronics", "耳机音箱 Audio"),
    ("wearables", "electronics", "智能穿戴 Wearables"),
    ("kitchen", "", "厨具 Kitchen"),
    ("cookers", "kitchen", "电饭煲 Rice cookers"),
    ("blenders", "kitchen", "料理机 Blenders"),
    ("cookware", "kitchen", "锅具 Cookware"),
    ("accessories", "", "配件 Accessories"),
    ("service-plans", "", "服务 Service plans"),
)


def _item(sku, name, name_en, category, price, **extra) -> Item:
    return Item(sku, name, name_en, category, Decimal(price), **extra)


ITEMS: tuple[Item, ...] = (
    _item("AC-Q15", "清风 1.5匹 新一级能效变频挂机 KFR-35GW", "Qingfeng 1.5 HP inverter AC", "air-conditioners",
          "2999.00", installed=True),
    _item("AC-Q20", "清风 2匹 变频立式柜机 KFR-51LW", "Qingfeng 2 HP floor-standing AC", "air-conditioners",
          "5499.00", installed=True),
    _item("AC-Q30", "清风 3匹 新风柜机 KFR-72LW Pro", "Qingfeng 3 HP fresh-air AC Pro", "air-conditioners",
          "8999.00", installed=True, launched=300),
    _item("FR-B400", "北极星 400L 十字对开门冰箱", "Beijixing 400 L French-door fridge", "fridges", "3299.00"),
    _item("FR-B550", "北极星 550L 对开门风冷冰箱", "Beijixing 550 L side-by-side fridge", "fridges", "4599.00"),
    _item("FR-B620", "北极星 620L 嵌入式零嵌冰箱", "Beijixing 620 L built-in fridge", "fridges", "8999.00",
          installed=True),
    _item("WM-H10", "海澜 10公斤 滚筒洗烘一体机", "Hailan 10 kg washer-dryer", "washers", "2899.00", installed=True),
    _item("WM-H12", "海澜 12公斤 直驱洗衣机 Pro", "Hailan 12 kg direct-drive washer Pro", "washers", "4299.00",
          installed=True),
    _item("WM-H08", "海澜 8公斤 波轮洗衣机", "Hailan 8 kg top-load washer", "washers", "1599.00", withdrawn=420),
    _item("TV-L55", "光影 55英寸 4K 智能电视", "Guangying 55\" 4K smart TV", "tvs", "2999.00", installed=True),
    _item("TV-L65", "光影 65英寸 Mini LED 电视", "Guangying 65\" Mini LED TV", "tvs", "5999.00", installed=True),
    _item("TV-L85", "光影 85英寸 Mini LED 巨幕电视", "Guangying 85\" Mini LED TV", "tvs", "12999.00",
          installed=True),
    _item("PH-X5", "星河 X5 5G手机 8+256GB", "Xinghe X5 5G phone 8+256 GB", "phones", "2499.00", withdrawn=380),
    _item("PH-X6", "星河 X6 5G手机 12+256GB", "Xinghe X6 5G phone 12+256 GB", "phones", "2799.00", launched=350),
    _item("PH-X6P", "星河 X6 Pro 影像旗舰 16+512GB", "Xinghe X6 Pro 16+512 GB", "phones", "5499.00",
          launched=350),
    _item("PH-Y1", "星河 Y1 青春版 6+128GB", "Xinghe Y1 Lite 6+128 GB", "phones", "1299.00"),
    _item("PH-F2", "星河 Fold 2 折叠屏手机", "Xinghe Fold 2 foldable phone", "phones", "8999.00", launched=150),
    _item("TB-P11", "星河 Pad 11 平板电脑 8+256GB", "Xinghe Pad 11 tablet 8+256 GB", "tablets", "2299.00"),
    _item("TB-P13", "星河 Pad 13 Pro 平板电脑", "Xinghe Pad 13 Pro tablet", "tablets", "3999.00"),
    _item("AU-B3", "声悦 Buds 3 主动降噪耳机", "Shengyue Buds 3 ANC earbuds", "audio", "499.00"),
    _item("AU-B3P", "声悦 Buds 3 Pro 降噪耳机", "Shengyue Buds 3 Pro earbuds", "audio", "899.00"),
    _item("AU-S1", "声悦 家庭智能音箱", "Shengyue home smart speaker", "audio", "349.00"),
    _item("WR-W4", "星河 Watch 4 智能手表", "Xinghe Watch 4 smartwatch", "wearables", "1299.00"),
    _item("WR-B8", "星河 手环 8", "Xinghe Band 8", "wearables", "249.00"),
    _item("KC-R40", "禾煮 4L IH电饭煲", "Hezhu 4 L IH rice cooker", "cookers", "599.00"),
    _item("KC-R30", "禾煮 3L 迷你电饭煲", "Hezhu 3 L mini rice cooker", "cookers", "299.00"),
    _item("KC-R50", "禾煮 5L 压力IH电饭煲", "Hezhu 5 L pressure IH rice cooker", "cookers", "1299.00"),
    _item("KC-B12", "禾煮 破壁料理机", "Hezhu high-speed blender", "blenders", "799.00"),
    _item("KC-B06", "禾煮 便携榨汁杯", "Hezhu portable juicer cup", "blenders", "159.00"),
    _item("KC-P28", "禾煮 28cm 不粘炒锅", "Hezhu 28 cm non-stick wok", "cookware", "269.00"),
    _item("KC-P05", "禾煮 不锈钢锅具五件套", "Hezhu 5-piece stainless cookware set", "cookware", "899.00"),
    _item("AC-CH65", "65W 氮化镓快充充电器", "65 W GaN fast charger", "accessories", "149.00"),
    _item("AC-CS", "手机保护壳", "Phone case", "accessories", "69.00"),
    _item("AC-SG", "钢化膜（两片装）", "Tempered glass screen protector (2)", "accessories", "39.00"),
    _item("AC-CB", "USB-C 编织数据线 1.5m", "USB-C braided cable 1.5 m", "accessories", "49.00"),
    _item("AC-FL", "空调/净化 滤网套装", "Filter kit", "accessories", "129.00"),
    _item("AC-WB", "电视壁挂支架", "TV wall bracket", "accessories", "199.00"),
    _item("SV-EW1", "延长保修 1年（家电）", "Extended warranty, 1 year (appliances)", "service-plans", "299.00"),
    _item("SV-EW3", "延长保修 3年（家电）", "Extended warranty, 3 years (appliances)", "service-plans", "699.00"),
    _item("SV-SC", "碎屏保障服务（手机）", "Screen protection plan (phones)", "service-plans", "199.00"),
    _item("SV-CL", "空调深度清洗服务", "AC deep-cleaning service", "service-plans", "149.00"),
    _item("SV-IN", "上门安装服务（高空/特殊安装）", "Special installation service", "service-plans", "199.00"),
)

# What sells together: the main product's subcategory -> SKUs often added to the same order.
ADD_ONS: dict[str, tuple[str, ...]] = {
    "air-conditioners": ("SV-EW1", "SV-EW3", "SV-IN", "AC-FL", "SV-CL"),
    "fridges": ("SV-EW1", "SV-EW3"),
    "washers": ("SV-EW1", "SV-EW3"),
    "tvs": ("AC-WB", "SV-EW1", "SV-EW3", "AU-S1"),
    "phones": ("AC-CS", "AC-SG", "AC-CH65", "AC-CB", "SV-SC", "AU-B3", "WR-B8"),
    "tablets": ("AC-CH65", "AC-CB", "AU-B3"),
    "audio": ("AC-CB",),
    "wearables": ("AC-CB",),
    "cookers": ("KC-P28", "KC-B06"),
    "blenders": ("KC-B06", "KC-P28"),
    "cookware": ("KC-P28", "KC-B06"),
    "accessories": ("AC-CB", "AC-SG"),
    "service-plans": ("SV-CL",),
}

# How often an order's main product comes from each subcategory.
MAIN_WEIGHTS: dict[str, float] = {
    "air-conditioners": 7, "fridges": 5, "washers": 5, "tvs": 5, "phones": 16, "tablets": 5, "audio": 9,
    "wearables": 6, "cookers": 8, "blenders": 6, "cookware": 7, "accessories": 14, "service-plans": 4,
}

APPLIANCE_CATEGORIES = frozenset({"air-conditioners", "fridges", "washers", "tvs"})


@dataclass
class Catalogue:
    """The loaded catalogue: the items with their Product rows, grouped for order generation."""

    items: dict[str, Item]
    products: dict[str, Product]
    by_category: dict[str, list[Item]]

    def on_sale(self, category: str, day_index: int) -> list[Item]:
        return [item for item in self.by_category[category]
                if item.launched <= day_index and (item.withdrawn is None or day_index < item.withdrawn)]


def load_catalogue(loader: Loader) -> Catalogue:
    categories: dict[str, ProductCategory] = {}
    for code, parent, name in CATEGORIES:
        category = ProductCategory(code=code, name=name, parent=categories.get(parent))
        loader.insert([category])
        categories[code] = category
    products = [
        Product(
            sku=item.sku, name=item.name, category=categories[item.category], price=item.price, currency="CNY",
            is_active=item.withdrawn is None, description=item.name_en,
            created_at=loader.calendar.at(loader.calendar.days[item.launched], 9),
            updated_at=loader.calendar.at(loader.calendar.days[item.withdrawn or item.launched], 9),
        )
        for item in ITEMS
    ]
    loader.insert(products)
    by_category: dict[str, list[Item]] = {code: [] for code, _parent, _name in CATEGORIES}
    for item in ITEMS:
        by_category[item.category].append(item)
    loader.say(f"Catalogue: {len(categories)} categories, {len(products)} products.")
    return Catalogue(items={item.sku: item for item in ITEMS}, products={p.sku: p for p in products},
                     by_category=by_category)
