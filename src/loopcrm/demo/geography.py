"""Where demo customers live: real provinces, cities and districts, their area codes and postcodes.

Each city says which regional sales department serves it: 华东销售部 takes the east, north and
northeast, 华南销售部 the south, centre and west; customers abroad belong to International Sales.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class City:
    province: str
    name: str
    area_code: str  # trunk code without the leading 0
    postcode: str  # the first three digits
    districts: tuple[str, ...]
    region: str  # "east" | "south"
    weight: float  # how many customers live here, relatively
    local_digits: int = 8  # digits of a landline number after the area code


def _city(province, name, area_code, postcode, districts, region, weight, local_digits=8) -> City:
    return City(province, name, area_code, postcode, tuple(districts.split()), region, weight, local_digits)


CITIES: tuple[City, ...] = (
    _city("上海市", "上海市", "21", "200", "浦东新区 徐汇区 静安区 闵行区 杨浦区 长宁区 普陀区", "east", 9),
    _city("北京市", "北京市", "10", "100", "朝阳区 海淀区 东城区 西城区 丰台区 通州区", "east", 8),
    _city("天津市", "天津市", "22", "300", "和平区 南开区 河西区 滨海新区", "east", 2.5),
    _city("江苏省", "南京市", "25", "210", "鼓楼区 玄武区 秦淮区 建邺区 江宁区", "east", 3.5),
    _city("江苏省", "苏州市", "512", "215", "姑苏区 吴中区 相城区 虎丘区 吴江区", "east", 4),
    _city("江苏省", "无锡市", "510", "214", "梁溪区 滨湖区 新吴区 锡山区", "east", 2),
    _city("浙江省", "杭州市", "571", "310", "西湖区 上城区 拱墅区 滨江区 余杭区 萧山区", "east", 5),
    _city("浙江省", "宁波市", "574", "315", "海曙区 鄞州区 江北区 北仑区", "east", 2.5),
    _city("浙江省", "温州市", "577", "325", "鹿城区 龙湾区 瓯海区", "east", 1.5),
    _city("安徽省", "合肥市", "551", "230", "蜀山区 包河区 庐阳区 瑶海区", "east", 2),
    _city("山东省", "济南市", "531", "250", "历下区 市中区 槐荫区 历城区", "east", 2),
    _city("山东省", "青岛市", "532", "266", "市南区 市北区 崂山区 黄岛区", "east", 2.5),
    _city("福建省", "福州市", "591", "350", "鼓楼区 台江区 仓山区 晋安区", "east", 1.5),
    _city("福建省", "厦门市", "592", "361", "思明区 湖里区 集美区 海沧区", "east", 1.5, 7),
    _city("河北省", "石家庄市", "311", "050", "长安区 桥西区 新华区 裕华区", "east", 1.5),
    _city("辽宁省", "沈阳市", "24", "110", "和平区 沈河区 皇姑区 浑南区", "east", 1.5),
    _city("辽宁省", "大连市", "411", "116", "中山区 西岗区 沙河口区 甘井子区", "east", 1.2),
    _city("广东省", "广州市", "20", "510", "天河区 越秀区 海珠区 白云区 番禺区", "south", 7),
    _city("广东省", "深圳市", "755", "518", "南山区 福田区 罗湖区 宝安区 龙岗区", "south", 7),
    _city("广东省", "东莞市", "769", "523", "南城街道 东城街道 莞城街道 松山湖", "south", 2.5),
    _city("广东省", "佛山市", "757", "528", "禅城区 南海区 顺德区", "south", 2.5),
    _city("广西壮族自治区", "南宁市", "771", "530", "青秀区 兴宁区 西乡塘区", "south", 1, 7),
    _city("海南省", "海口市", "898", "570", "龙华区 美兰区 秀英区", "south", 0.7),
    _city("湖南省", "长沙市", "731", "410", "岳麓区 芙蓉区 天心区 开福区", "south", 2.5),
    _city("湖北省", "武汉市", "27", "430", "武昌区 江汉区 洪山区 江岸区", "south", 3),
    _city("河南省", "郑州市", "371", "450", "金水区 二七区 中原区 管城回族区", "south", 2),
    _city("四川省", "成都市", "28", "610", "武侯区 锦江区 青羊区 成华区", "south", 4),
    _city("重庆市", "重庆市", "23", "400", "渝中区 江北区 南岸区 渝北区", "south", 3),
    _city("云南省", "昆明市", "871", "650", "五华区 盘龙区 官渡区", "south", 1),
    _city("陕西省", "西安市", "29", "710", "雁塔区 碑林区 未央区 莲湖区", "south", 2),
)

STREETS = (
    "人民路", "解放路", "中山路", "建设路", "和平路", "延安路", "长江路", "黄河路", "新华路", "文化路",
    "青年路", "胜利路", "朝阳路", "东风路", "学院路", "科技路", "滨江大道", "世纪大道", "金桥路", "花园路",
    "春晖路", "锦绣路", "湖滨路", "光明路", "育才路", "迎宾大道", "幸福路", "振兴路", "太平路", "园区大道",
)

RESIDENCES = ("花园", "小区", "公寓", "新村", "苑", "家园", "华府", "名邸")
TOWERS = ("国际大厦", "中心", "科技园", "商务大厦", "金融中心", "广场", "创业园")

# Mobile prefixes in use on the mainland (China Mobile, Unicom, Telecom, Broadnet).
CN_MOBILE_PREFIXES = (
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150", "151", "152", "153", "155",
    "156", "157", "158", "159", "166", "173", "175", "176", "177", "178", "180", "181", "182", "183", "184",
    "185", "186", "187", "188", "189", "191", "193", "195", "196", "198", "199",
)


@dataclass(frozen=True)
class Abroad:
    """A place abroad: ISO country, state / province, city, district choices, how phones and postcodes look."""

    country: str
    province: str
    city: str
    districts: tuple[str, ...]
    dial: str  # country calling code
    mobile: tuple[str, ...]  # national number prefixes of mobiles (or NANP area codes)
    national_length: int  # digits of the national number
    postcodes: tuple[str, ...]
    weight: float


ABROAD: tuple[Abroad, ...] = (
    Abroad("US", "California", "San Francisco", (), "1", ("415", "628"), 10, ("94103", "94110", "94117"), 10),
    Abroad("US", "California", "Los Angeles", (), "1", ("213", "310", "323"), 10, ("90012", "90024", "90036"), 10),
    Abroad("US", "California", "San Jose", (), "1", ("408",), 10, ("95112", "95126"), 5),
    Abroad("US", "New York", "New York", (), "1", ("212", "646", "917"), 10, ("10001", "10011", "10025"), 12),
    Abroad("US", "Washington", "Seattle", (), "1", ("206",), 10, ("98101", "98109", "98122"), 6),
    Abroad("US", "Texas", "Austin", (), "1", ("512",), 10, ("78701", "78704"), 4),
    Abroad("US", "Texas", "Houston", (), "1", ("713", "832"), 10, ("77002", "77006"), 4),
    Abroad("US", "Illinois", "Chicago", (), "1", ("312", "773"), 10, ("60601", "60614"), 5),
    Abroad("US", "Massachusetts", "Boston", (), "1", ("617",), 10, ("02108", "02116"), 4),
    Abroad("US", "Georgia", "Atlanta", (), "1", ("404",), 10, ("30303", "30309"), 3),
    Abroad("GB", "England", "London", ("Camden", "Westminster", "Hackney"), "44", ("77", "78", "79"), 10,
           ("NW1 8NH", "SW1A 2AA", "E8 3RL", "EC1V 9HX"), 6),
    Abroad("GB", "England", "Manchester", (), "44", ("74", "75", "77"), 10, ("M1 1AE", "M4 5JD"), 2),
    Abroad("AU", "New South Wales", "Sydney", (), "61", ("41", "42", "43"), 9, ("2000", "2010"), 4),
    Abroad("AU", "Victoria", "Melbourne", (), "61", ("40", "41", "43"), 9, ("3000", "3121"), 3),
    Abroad("CA", "Ontario", "Toronto", (), "1", ("416", "647"), 10, ("M5V 2T6", "M4W 1A8"), 4),
    Abroad("CA", "British Columbia", "Vancouver", (), "1", ("604", "778"), 10, ("V6B 1A1", "V5K 0A1"), 3),
    Abroad("SG", "", "Singapore", ("Orchard", "Tanjong Pagar", "Bukit Timah"), "65", ("8", "9"), 8,
           ("238859", "088540", "259760"), 5),
    Abroad("HK", "", "Hong Kong", ("Central", "Kowloon", "Wan Chai"), "852", ("5", "6", "9"), 8, ("",), 3),
    Abroad("DE", "Berlin", "Berlin", ("Mitte", "Kreuzberg"), "49", ("151", "160", "170", "176"), 11,
           ("10115", "10999"), 2),
)
