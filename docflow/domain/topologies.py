"""Deterministic agency topologies: Tiền Giang as connected in October 2017, and the whole country.

Both generators use no randomness: the same call returns an equal ``Registry`` every run.

Numbering (docflow's scheme, following the Tây Ninh pattern in STANDARD.md; numbering inside a province is
local practice, not a rule):

- ``000.00.00.G22`` the Government Office is the root; central bodies ``000.00.00.Gnn`` hang under it.  Only
  G01, G12, G14, G18, G19, G22 and G24 are confirmed by STANDARD.md; the other G numbers are docflow's.
- ``000.00.00.Hnn`` a province (the provincial people's committee), under the Government Office; provinces
  are numbered in Vietnamese alphabetical order, so Tiền Giang is ``H58`` (*unconfirmed*).
- ``000.00.01.Hnn`` … ``000.00.49.Hnn`` departments and province-level agencies (01 is the office of the
  provincial people's committee);
- ``000.00.50.Hnn`` … district-level people's committees (cities, towns, districts);
- ``000.01.DD.Hnn`` the office of district DD (``national`` only), ``000.20.DD.Hnn`` … its communes
  (numbered from 20, as in Tây Ninh).

``with_hubs=True`` adds the connecting systems of ``docflow.domain.routing``: the national axis ``00.00.W00``
under the Government Office and each province's hub ``00.nn.W00`` under its province.

Names: Tiền Giang's departments, districts and communes are real 2017 names as best known (compiled without
an official list at hand, so unverified); generated ones say "số N".  Addresses and e-mail addresses are
generated.

Pure: standard library and ``docflow.domain``/``docflow.errors`` only.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence

from docflow.domain.ids import OrganId
from docflow.domain.registry import Agency, AgencyKind, Registry
from docflow.errors import ConfigError

#: Level-2 number of the first district-level people's committee in a province.
FIRST_DISTRICT = 50
#: Level-3 number of the first commune in a district.
FIRST_COMMUNE = 20
TIEN_GIANG = 58

GOVERNMENT_OFFICE = (22, "Văn phòng Chính phủ")
_CONFIRMED_CENTRAL = {
    1: "Bộ Công an",
    12: "Bộ Tài chính",
    14: "Bộ Thông tin và Truyền thông",
    18: "Bộ Y tế",
    19: "Ngân hàng Nhà nước Việt Nam",
    24: "Bảo hiểm xã hội Việt Nam",
}
_OTHER_CENTRAL = (
    "Bộ Quốc phòng", "Bộ Ngoại giao", "Bộ Nội vụ", "Bộ Tư pháp", "Bộ Kế hoạch và Đầu tư", "Bộ Công Thương",
    "Bộ Nông nghiệp và Phát triển nông thôn", "Bộ Giao thông vận tải", "Bộ Xây dựng",
    "Bộ Tài nguyên và Môi trường", "Bộ Lao động - Thương binh và Xã hội", "Bộ Văn hóa, Thể thao và Du lịch",
    "Bộ Khoa học và Công nghệ", "Bộ Giáo dục và Đào tạo", "Ủy ban Dân tộc", "Thanh tra Chính phủ",
    "Thông tấn xã Việt Nam", "Đài Tiếng nói Việt Nam",
)  # fmt: skip

PROVINCES = (
    "An Giang", "Bà Rịa - Vũng Tàu", "Bắc Giang", "Bắc Kạn", "Bạc Liêu", "Bắc Ninh", "Bến Tre", "Bình Định",
    "Bình Dương", "Bình Phước", "Bình Thuận", "Cà Mau", "Cao Bằng", "Cần Thơ", "Đà Nẵng", "Đắk Lắk", "Đắk Nông",
    "Điện Biên", "Đồng Nai", "Đồng Tháp", "Gia Lai", "Hà Giang", "Hà Nam", "Hà Nội", "Hà Tĩnh", "Hải Dương",
    "Hải Phòng", "Hậu Giang", "Hồ Chí Minh", "Hòa Bình", "Hưng Yên", "Khánh Hòa", "Kiên Giang", "Kon Tum",
    "Lai Châu", "Lâm Đồng", "Lạng Sơn", "Lào Cai", "Long An", "Nam Định", "Nghệ An", "Ninh Bình", "Ninh Thuận",
    "Phú Thọ", "Phú Yên", "Quảng Bình", "Quảng Nam", "Quảng Ngãi", "Quảng Ninh", "Quảng Trị", "Sóc Trăng",
    "Sơn La", "Tây Ninh", "Thái Bình", "Thái Nguyên", "Thanh Hóa", "Thừa Thiên Huế", "Tiền Giang", "Trà Vinh",
    "Tuyên Quang", "Vĩnh Long", "Vĩnh Phúc", "Yên Bái",
)  # fmt: skip
"""The 63 provinces before the 2025 reform, in Vietnamese alphabetical order: H01 … H63."""
_CITIES = frozenset({"Cần Thơ", "Đà Nẵng", "Hà Nội", "Hải Phòng", "Hồ Chí Minh"})

_CORE_DEPARTMENTS = (
    "Văn phòng UBND tỉnh", "Sở Nội vụ", "Sở Tư pháp", "Sở Kế hoạch và Đầu tư", "Sở Tài chính", "Sở Công Thương",
    "Sở Nông nghiệp và Phát triển nông thôn", "Sở Giao thông vận tải", "Sở Xây dựng", "Sở Tài nguyên và Môi trường",
    "Sở Thông tin và Truyền thông", "Sở Lao động - Thương binh và Xã hội", "Sở Văn hóa, Thể thao và Du lịch",
    "Sở Khoa học và Công nghệ", "Sở Giáo dục và Đào tạo", "Sở Y tế", "Thanh tra tỉnh",
)  # fmt: skip
_MORE_DEPARTMENTS = (
    "Văn phòng Đoàn ĐBQH và HĐND tỉnh", "Ban Quản lý các khu công nghiệp", "Đài Phát thanh và Truyền hình",
    "Trường Chính trị", "Sở Ngoại vụ",
)  # fmt: skip
_TIEN_GIANG_MORE = (
    "Ban Dân tộc", "Văn phòng Đoàn ĐBQH và HĐND tỉnh", "Ban Quản lý các khu công nghiệp",
    "Đài Phát thanh và Truyền hình", "Trường Chính trị", "Trường Đại học Tiền Giang", "Trường Cao đẳng Y tế",
    "Công an tỉnh", "Bộ Chỉ huy Quân sự tỉnh", "Cục Thuế tỉnh", "Kho bạc Nhà nước tỉnh", "Bảo hiểm xã hội tỉnh",
    "Cục Thống kê tỉnh", "Ngân hàng Nhà nước - Chi nhánh tỉnh", "Liên minh Hợp tác xã tỉnh",
    "Quỹ Đầu tư phát triển tỉnh", "Tòa án nhân dân tỉnh", "Viện Kiểm sát nhân dân tỉnh",
    "Cục Thi hành án dân sự tỉnh", "Bưu điện tỉnh", "Viễn thông",
)  # fmt: skip
TIEN_GIANG_DEPARTMENTS = 49

#: Tiền Giang's district-level units in 2017 and their communes (17+12+16+25+16+13+23+19+13+13+6 = 173).
TIEN_GIANG_DISTRICTS: tuple[tuple[str, str], ...] = (
    ("thành phố Mỹ Tho", "P:1,2,3,4,5,6,7,8,9,10,Tân Long;"
     "X:Đạo Thạnh,Mỹ Phong,Phước Thạnh,Tân Mỹ Chánh,Thới Sơn,Trung An"),
    ("thị xã Gò Công", "P:1,2,3,4,5,Long Hưng,Long Thuận,Long Chánh,Long Hòa;X:Bình Đông,Bình Xuân,Tân Trung"),
    ("thị xã Cai Lậy", "P:1,2,3,4,5,Nhị Mỹ;X:Long Khánh,Mỹ Hạnh Đông,Mỹ Hạnh Trung,Mỹ Phước Tây,Nhị Quý,Phú Quý,"
     "Tân Bình,Tân Hội,Tân Phú,Thanh Hòa"),
    ("huyện Cái Bè", "T:Cái Bè;X:An Cư,An Hữu,An Thái Đông,An Thái Trung,Đông Hòa Hiệp,Hậu Mỹ Bắc A,Hậu Mỹ Bắc B,"
     "Hậu Mỹ Phú,Hậu Mỹ Trinh,Hậu Thành,Hòa Hưng,Hòa Khánh,Mỹ Đức Đông,Mỹ Đức Tây,Mỹ Hội,Mỹ Lợi A,Mỹ Lợi B,"
     "Mỹ Lương,Mỹ Tân,Mỹ Trung,Tân Hưng,Tân Thanh,Thiện Trí,Thiện Trung"),
    ("huyện Cai Lậy", "X:Bình Phú,Cẩm Sơn,Hiệp Đức,Hội Xuân,Long Tiên,Long Trung,Mỹ Long,Mỹ Thành Bắc,Mỹ Thành Nam,"
     "Ngũ Hiệp,Phú An,Phú Cường,Phú Nhuận,Tam Bình,Tân Phong,Thạnh Lộc"),
    ("huyện Tân Phước", "T:Mỹ Phước;X:Hưng Thạnh,Mỹ Phước,Phú Mỹ,Phước Lập,Tân Hòa Đông,Tân Hòa Tây,Tân Hòa Thành,"
     "Tân Lập 1,Tân Lập 2,Thạnh Hòa,Thạnh Mỹ,Thạnh Tân"),
    ("huyện Châu Thành", "T:Tân Hiệp;X:Bàn Long,Bình Đức,Bình Trưng,Dưỡng Điềm,Điềm Hy,Đông Hòa,Hữu Đạo,Kim Sơn,"
     "Long An,Long Định,Long Hưng,Nhị Bình,Phú Phong,Song Thuận,Tam Hiệp,Tân Hội Đông,Tân Hương,Tân Lý Đông,"
     "Tân Lý Tây,Thân Cửu Nghĩa,Thạnh Phú,Vĩnh Kim"),
    ("huyện Chợ Gạo", "T:Chợ Gạo;X:An Thạnh Thủy,Bình Ninh,Bình Phan,Bình Phục Nhứt,Đăng Hưng Phước,Hòa Định,"
     "Hòa Tịnh,Long Bình Điền,Lương Hòa Lạc,Mỹ Tịnh An,Phú Kiết,Quơn Long,Song Bình,Tân Bình Thạnh,"
     "Tân Thuận Bình,Thanh Bình,Trung Hòa,Xuân Đông"),
    ("huyện Gò Công Tây", "T:Vĩnh Bình;X:Bình Nhì,Bình Phú,Bình Tân,Đồng Sơn,Đồng Thạnh,Long Bình,Long Vĩnh,"
     "Thạnh Nhựt,Thạnh Trị,Thành Công,Vĩnh Hựu,Yên Luông"),
    ("huyện Gò Công Đông", "T:Tân Hòa,Vàm Láng;X:Bình Ân,Bình Nghị,Gia Thuận,Kiểng Phước,Phước Trung,Tân Điền,"
     "Tân Đông,Tân Phước,Tân Tây,Tân Thành,Tăng Hòa"),
    ("huyện Tân Phú Đông", "X:Phú Đông,Phú Tân,Phú Thạnh,Tân Phú,Tân Thạnh,Tân Thới"),
)  # fmt: skip
_UNIT_TYPES = {"P": "phường", "X": "xã", "T": "thị trấn"}


def _communes(spec: str) -> list[str]:
    names: list[str] = []
    for group in spec.split(";"):
        unit, _, listed = group.partition(":")
        names.extend(f"{_UNIT_TYPES[unit]} {name}" for name in listed.split(","))
    return names


def _slug(text: str) -> str:
    plain = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    return "".join(c for c in plain.lower() if c.isascii() and c.isalnum())


class _Builder:
    """Collects agencies; fills the header fields every generated agency gets the same way."""

    def __init__(self) -> None:
        self.agencies: list[Agency] = []
        self.names: dict[OrganId, str] = {}

    def add(
        self,
        code: OrganId,
        name: str,
        kind: AgencyKind,
        parent: OrganId | None,
        *,
        address: str,
        email: str = "",
        website: str = "",
    ) -> OrganId:
        in_charge = self.names[parent] if parent is not None else ""
        self.agencies.append(
            Agency.of(
                code,
                name,
                kind,
                parent,
                organization_in_charge=in_charge,
                address=address,
                email=email,
                website=website,
            )
        )
        self.names[code] = name
        return code

    def central(self, numbers: Sequence[int], with_hubs: bool) -> OrganId:
        root = self.add(
            OrganId("G", GOVERNMENT_OFFICE[0]),
            GOVERNMENT_OFFICE[1],
            AgencyKind.GOVERNMENT_OFFICE,
            None,
            address="Số 1 Hoàng Hoa Thám, Ba Đình, Hà Nội",
            website="chinhphu.vn",
        )
        names = _central_names()
        for number in numbers:
            self.add(OrganId("G", number), names[number], AgencyKind.MINISTRY, root, address="Hà Nội")
        if with_hubs:
            self.add(
                OrganId("W", 0, 0, 0, 0, short=True),
                "Trục liên thông văn bản quốc gia",
                AgencyKind.HUB,
                root,
                address="Hà Nội",
            )
        return root

    def province(
        self,
        number: int,
        departments: Sequence[str],
        districts: Sequence[tuple[str, Sequence[str]]],
        *,
        offices: bool,
        with_hubs: bool,
        root: OrganId,
    ) -> None:
        name = PROVINCES[number - 1]
        title = f"thành phố {name}" if name in _CITIES else f"tỉnh {name}"
        domain = f"{_slug(name)}.gov.vn"
        where = f"{title[0].upper()}{title[1:]}"
        province = self.add(
            OrganId("H", number),
            f"UBND {title}",
            AgencyKind.PROVINCE,
            root,
            address=where,
            email=f"ubnd@{domain}",
            website=domain,
        )
        if with_hubs:
            self.add(
                OrganId("W", 0, number, 0, 0, short=True),
                f"Nền tảng tích hợp, chia sẻ dữ liệu {title}",
                AgencyKind.HUB,
                province,
                address=where,
            )
        for index, department in enumerate(departments, start=1):
            self.add(
                OrganId("H", number, index),
                _department_name(department, name, title),
                AgencyKind.DEPARTMENT,
                province,
                address=where,
                email=f"d{index:02d}@{domain}",
            )
        for index, (district, communes) in enumerate(districts):
            level2 = FIRST_DISTRICT + index
            place = f"{district}, {where}"
            code = self.add(
                OrganId("H", number, level2),
                f"UBND {district}",
                AgencyKind.DISTRICT,
                province,
                address=place,
                email=f"h{level2}@{domain}",
            )
            if offices:
                self.add(
                    OrganId("H", number, level2, 1),
                    f"Văn phòng HĐND và UBND {district}",
                    AgencyKind.OFFICE,
                    code,
                    address=place,
                    email=f"vp.h{level2}@{domain}",
                )
            for offset, commune in enumerate(communes):
                level3 = FIRST_COMMUNE + offset
                self.add(
                    OrganId("H", number, level2, level3),
                    f"UBND {commune}, {district}",
                    AgencyKind.COMMUNE,
                    code,
                    address=f"{commune}, {place}",
                    email=f"x{level3}.h{level2}@{domain}",
                )


def _department_name(department: str, province: str, title: str) -> str:
    if province in department:
        return department
    if department.endswith(" tỉnh"):  # "Văn phòng UBND tỉnh" -> "... tỉnh Tiền Giang" / "... thành phố Hà Nội"
        return f"{department[:-5]} {title}"
    return f"{department} {title}"


def _central_names() -> dict[int, str]:
    free = [n for n in range(1, 26) if n not in _CONFIRMED_CENTRAL and n != GOVERNMENT_OFFICE[0]]
    return {**_CONFIRMED_CENTRAL, **dict(zip(free, _OTHER_CENTRAL, strict=True))}


def _tien_giang_departments() -> list[str]:
    named = [*_CORE_DEPARTMENTS, *_TIEN_GIANG_MORE]
    generated = [f"Đơn vị cấp tỉnh số {n}" for n in range(len(named) + 1, TIEN_GIANG_DEPARTMENTS + 1)]
    return [*named, *generated]


def _tien_giang_districts() -> list[tuple[str, Sequence[str]]]:
    return [(name, _communes(spec)) for name, spec in TIEN_GIANG_DISTRICTS]


def tien_giang_2017(*, with_hubs: bool = False) -> Registry:
    """The Government Office, two ministries (G12, G14) and Tiền Giang (H58): 49 departments, 11 districts,
    173 communes — 237 agencies (239 with hubs)."""
    builder = _Builder()
    root = builder.central((12, 14), with_hubs)
    builder.province(
        TIEN_GIANG, _tien_giang_departments(), _tien_giang_districts(), offices=False, with_hubs=with_hubs, root=root
    )
    return Registry(builder.agencies)


def national(*, with_hubs: bool = False) -> Registry:
    """The whole country before the 2025 reform, generated: 25 central bodies, 63 provinces of 18–22
    departments and 8–14 districts each (Tiền Giang its real 49 and 11), an office and 9–22 communes per
    district (Tiền Giang its real communes) — 690 districts, 10,534 communes, 13,290 agencies (+64 with hubs).
    Builds in about 0.3 s."""
    builder = _Builder()
    root = builder.central(sorted(_central_names()), with_hubs)
    serial = 0  # counts districts across the country, so commune counts vary from district to district
    for number in range(1, len(PROVINCES) + 1):
        if number == TIEN_GIANG:
            departments: Sequence[str] = _tien_giang_departments()
            districts = _tien_giang_districts()
        else:
            departments = [*_CORE_DEPARTMENTS, *_MORE_DEPARTMENTS][: 18 + number % 5]
            districts = []
            for index in range(1, 9 + (5 * number + 3) % 7):
                serial += 1
                size = 9 + (7 * serial + 3) % 13 + (serial % 4 == 0)
                districts.append((f"huyện số {index}", [f"xã số {FIRST_COMMUNE + k}" for k in range(size)]))
        builder.province(number, departments, districts, offices=True, with_hubs=with_hubs, root=root)
    return Registry(builder.agencies)


TOPOLOGIES: dict[str, Callable[[], Registry]] = {"national": national, "tien_giang_2017": tien_giang_2017}


def topology(name: str) -> Registry:
    """The built-in topology called ``name``; ``ConfigError`` naming the known ones otherwise."""
    try:
        factory = TOPOLOGIES[name.strip().lower()]
    except (KeyError, AttributeError):
        known = ", ".join(sorted(TOPOLOGIES))
        raise ConfigError(f"unknown topology {name!r}: expected one of {known}") from None
    return factory()
