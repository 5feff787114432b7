"""The console's words: Chinese first, English on request."""
from __future__ import annotations

from streams.indicators.definitions import BY_KEY

WORDS = {
    "title": ("審批監測", "Approvals monitor"), "overview": ("總覽", "Overview"), "drill": ("下鑽", "Drill-down"),
    "alerts": ("告警", "Alerts"), "list": ("權責清單", "Power list"), "analysis": ("決策支持", "Decision support"),
    "login": ("登錄", "Sign in"), "logout": ("退出", "Sign out"), "name": ("用戶名", "User"),
    "password": ("密碼", "Password"), "today": ("今日", "Today"), "region": ("區劃", "Region"),
    "department": ("部門", "Department"), "item": ("事項", "Item"), "cases": ("辦件", "Cases"),
    "case": ("辦件", "Case"), "events": ("事件", "Events"), "why": ("原因", "Why"), "ack": ("確認", "Acknowledge"),
    "silence": ("靜默1小時", "Silence 1 h"), "status": ("狀態", "Status"), "value": ("數值", "Value"),
    "scope": ("可見範圍", "Scope"), "everywhere": ("全市", "everywhere"), "search": ("搜索", "Search"),
    "public": ("權責清單公示", "Published power list"), "history": ("沿革", "History"),
    "monthly": ("月度辦件", "Monthly figures"), "no_deadline_note": (
        "按時辦結率不含無時限的辦結（見「無時限辦結」）", "The on-time rate leaves out completions without a deadline"
        " (see \"completed without a deadline\")"),
    "overdue_why": ("已過期限（含暫停順延）", "past its deadline (suspensions added)"),
    "outside_list": ("清單之外", "outside the list"), "chains": ("辦事鏈條", "Service chains"),
    "recommendations": ("改革建議", "Recommendations"), "live": ("實時", "live"), "lang": ("English", "中文"),
}


def t(key: str, lang: str) -> str:
    zh, en = WORDS[key]
    return en if lang == "en" else zh


def label(indicator: str, lang: str) -> str:
    ind = BY_KEY[indicator]
    return ind.en if lang == "en" else ind.zh
