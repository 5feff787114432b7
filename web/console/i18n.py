"""The console's words: simplified Chinese first, traditional Chinese and English on request."""
from __future__ import annotations

from core.script import to_simplified
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
    "org": ("機構編制", "Staffing"), "proposals": ("擬議變更", "Proposals"), "demands": ("群眾訴求", "Demands"),
    "org_public": ("機構檢索", "Units and quotas"), "findings": ("檢查發現", "Findings"),
    "unit": ("單位", "Unit"), "quota_kind": ("編制類型", "Quota kind"), "approved": ("核定", "Approved"),
    "actual": ("實有", "Actual"), "vacant": ("空編", "Vacant"), "over": ("超編", "Over"),
    "usage_rate": ("使用率", "Usage"), "as_of": ("截至", "As of"), "show": ("查看", "Show"),
    "kind": ("類型", "Kind"), "subject": ("對象", "Subject"), "evidence": ("依據數據", "Evidence"),
    "since": ("時間", "Since"), "basis": ("條款", "Basis"), "duties": ("主要職責", "Duties"), "duty": ("職責", "Duty"),
    "bodies": ("內設機構", "Internal bodies"), "document": ("文件", "Document"), "quotas": ("編制", "Quotas"),
    "archive": ("數字檔案館", "Archive"), "upload": ("上傳入庫", "Upload"),
    "drop_here": ("把文件拖到這裡，或點擊選擇（Word 文檔、PDF、掃描圖片、文本文件）",
                  "Drop a file here or choose one (.docx .pdf .png .jpg .tif .txt .doc .wps)"),
    "doc_no": ("文號", "Doc no."), "doc_title": ("標題", "Title"), "issued_at": ("成文日期", "Issued"),
    "effective_at": ("施行日期", "Takes effect"), "doc_type": ("文種", "Type"), "pages": ("頁數", "Pages"),
    "page": ("頁", "Page"), "ocr": ("OCR識別", "OCR"), "confidence": ("置信度", "Confidence"),
    "low_confidence": ("識別把握不大，請人工核對", "unsure: check it by eye"), "original": ("下載原件", "Original"),
    "refused": ("文件被拒收", "File refused"), "doc_queued": ("排隊待識別", "queued"), "doc_reading": ("識別中", "reading"),
    "doc_ready": ("已入庫", "ready"), "doc_failed": ("識別失敗", "failed"), "proposal": ("變更建議", "Proposal"),
    "from_text": ("出自原文", "From the text"), "given": ("經辦人填寫", "stated by the uploader"),
    "year_from": ("年份自", "From year"), "year_to": ("至", "to"), "hits": ("條結果", "hits"),
    "text_of": ("全文", "Text"), "uploaded_by": ("上傳人", "Uploaded by"),
    "posts": ("領導職數", "Leadership posts"), "held": ("實配", "Held"), "changes": ("變化", "Changes"),
    "roster": ("實名公示", "Roster"), "sex": ("性別", "Sex"), "nature": ("性質", "Nature"), "rank": ("規格", "Rank"),
    "exercised": ("已履行", "exercised"), "unexercised": ("未見事項", "no item in force"),
    "unlinked": ("未關聯事項", "names no item"), "set": ("設立", "set"), "ended": ("撤銷", "ended"),
    "changed": ("調整", "changed"), "not_standing": ("該日期單位不存在", "The unit did not stand on that date"),
    "evaluations": ("評估", "Evaluations"), "rectifications": ("整改", "Rectification"), "all": ("全部", "All"),
    "mine": ("我的", "Mine"), "overdue": ("逾期", "Overdue"), "requirement": ("整改要求", "Requirement"),
    "due": ("期限", "Due"), "who": ("經辦人", "By"), "start": ("開始整改", "Start"), "submit": ("提交", "Submit"),
    "verify": ("驗證", "Verify"), "return": ("退回", "Return"), "close": ("銷號", "Close"),
    "condition_cleared": ("問題已消除（待驗證）", "the condition has cleared (verify it)"),
    "condition_holds": ("問題仍存在", "the condition still holds"),
    "viewer": ("查看", "viewer"), "supervisor": ("監督", "supervisor"), "list_admin": ("清單管理", "list administrator"),
    "staffing_admin": ("編制管理", "staffing administrator"),
    "admin": ("管理員", "administrator"), "service": ("平臺", "platform"), "anonymous": ("訪客", "visitor"),
    "comparison": ("橫向對比", "Comparison"), "too_many": ("嘗試次數過多，請15分鐘後再試", "Too many attempts: try again in 15 minutes"),
    "wrong_login": ("用戶名或密碼不對", "Wrong name or password"),
    "over_quota": ("超編", "over quota"), "mixed_use": ("混編", "mixed use"), "over_posts": ("超職數", "over posts"),
    "unapproved_body": ("擅自設立內設機構", "body without approval"), "duty_unexercised": ("缺位（待研判）", "duty unexercised (candidate)"),
    "power_without_duty": ("越位（待研判）", "power without duty (candidate)"),
    "duty_underperformed": ("不到位（待研判）", "duty underperformed (candidate)"), "duty_overlap": ("職能交叉", "overlapping duties"),
    "state_open": ("待整改", "open"), "state_in_progress": ("整改中", "in progress"),
    "state_submitted": ("已整改（待驗證）", "submitted"), "state_returned": ("退回", "returned"),
    "state_verified": ("已驗證", "verified"), "state_closed": ("銷號", "closed"),
    "computed_at": ("計算於", "computed at"),
    "month": ("本月", "This month"),
    "note_on_time_rate": ("不含無時限的辦結", "leaves out completions without a deadline"),
    "note_avg_handling_hours": ("只計有受理時間的辦結", "completions with an acceptance only"),
    "note_satisfaction_rate": ("只計已評價的辦件", "evaluated cases only"),
    "note_completion_rate": ("分母：期初在辦與期內受理", "of those open at the start and accepted in the window"),
    "note_rejection_rate": ("分母：受理與不予受理", "of accepted and refused"),
    "note_one_time_correction_rate": ("只計有補正的辦件", "cases with corrections only"),
    "note_in_progress": ("截至窗口結束", "at the window's end"), "note_overdue": ("截至窗口結束", "at the window's end"),
    "suspensions": ("暫停", "Suspended"),
    "why_no_deadline": ("無時限：不計入按時辦結率，計入「無時限辦結」", "no deadline: left out of the on-time rate, counted"
                        " in \"completed without a deadline\""),
    "why_overdue": ("超期在辦，已超期", "overdue, by"), "why_on_time": ("按時辦結", "completed on time"),
    "why_late": ("超期辦結", "completed late"),
    "case_ended": ("已辦結或撤回", "ended"), "case_open": ("在辦", "open"), "case_submitted": ("已收件未受理", "submitted"),
    "ev_submitted": ("收件", "submitted"), "ev_accepted": ("受理", "accepted"), "ev_rejected": ("不予受理", "rejected"),
    "ev_correction_requested": ("補正告知", "correction requested"),
    "ev_correction_submitted": ("補正材料提交", "correction submitted"), "ev_suspended": ("暫停（特別程序）", "suspended"),
    "ev_resumed": ("恢復", "resumed"), "ev_completed": ("辦結", "completed"), "ev_withdrawn": ("撤回", "withdrawn"),
    "ev_evaluated": ("評價", "evaluated"), "rule_never_listed": ("從未列入清單", "never on the list"),
    "rule_cancelled": ("已取消", "cancelled"), "rule_devolved_away": ("已下放", "devolved away"),
    "rule_outside_regions": ("不在實施區劃", "outside the item's regions"),
    "item_name": ("事項名稱", "Item name"), "drafts": ("清單草稿", "List drafts"), "new_draft": ("起草變更", "Draft a change"), "draft": ("起草", "Draft"),
    "approve": ("批准", "Approve"), "reject": ("駁回", "Reject"), "overlaps": ("相似事項", "Resembles"),
    "trail": ("全程記錄", "Trail"), "category": ("類別", "Category"), "level": ("層級", "Level"),
    "level_province": ("省級", "province"), "level_city": ("市級", "city"), "level_county": ("縣級", "county"),
    "level_town": ("鄉鎮級", "town"),
    "act_added": ("新增", "add"), "act_modified": ("調整", "modify"), "act_cancelled": ("取消", "cancel"),
    "act_devolved": ("下放", "devolve"), "draft_draft": ("待審", "awaiting review"),
    "draft_rejected": ("已駁回", "rejected"), "draft_published": ("已發布", "published"),
    "step_drafted": ("起草", "drafted"), "step_checked": ("重疊檢查", "checked"), "step_approved": ("批准", "approved"),
    "step_rejected": ("駁回", "rejected"), "step_published": ("發布", "published"),
    "step_platform_acknowledged": ("平臺已確認", "the platform acknowledged"),
    "step_platform_pending": ("待推送平臺", "to the platform: pending"),
    "step_platform_failed": ("推送失敗，重試中", "to the platform: failed, retrying"),
    "step_platform_parked": ("推送暫停", "to the platform: parked"),
    "acked_by": ("已確認：", "acknowledged by"), "silenced_until": ("靜默至", "silenced until"),
    "rule": ("規則", "Rule"), "group": ("分組", "Group"), "severity": ("級別", "Severity"), "handled": ("處理", "Handled"),
    "alert_ok": ("正常", "ok"), "alert_pending": ("觀察中", "pending"), "alert_firing": ("告警中", "firing"),
    "alert_resolving": ("恢復中", "resolving"), "sev_warning": ("警告", "warning"), "sev_critical": ("嚴重", "critical"),
    "sev_info": ("提示", "info"), "until": ("至", "Until"), "in_force": ("有效", "In force"), "yes": ("是", "yes"),
    "no": ("否", "no"), "change": ("變更", "Change"), "attempts": ("嘗試次數", "Attempts"), "latency": ("時延(毫秒)", "Latency (ms)"),
    "sync_pending": ("待推送", "pending"), "sync_failed": ("失敗重試", "failed, retrying"), "sync_parked": ("暫停", "parked"),
    "sync_applied": ("已生效", "applied"), "median": ("中位數", "median"),
    "days": ("天", " d"), "wait": ("等待", "wait"), "handling": ("辦理", "handling"), "chain": ("鏈條", "Chain"),
    "support": ("申請人數", "Applicants"), "end_to_end": ("全程（中位數）", "End to end (median)"),
    "draft_it": ("起草變更", "Draft the change"), "rec_cancel": ("建議取消", "cancel"),
    "rec_devolve": ("建議下放", "devolve"), "rec_merge": ("建議整合", "merge"), "rec_high_volume": ("高頻事項", "high volume"),
    "ev_applications": ("申請量", "applications"), "ev_received": ("收件", "received"),
    "ev_on_time_rate": ("按時辦結率", "on-time rate"), "ev_lift": ("提升度", "lift"),
    "ev_confidence": ("置信度", "confidence"), "ev_support": ("申請人數", "applicants"),
    "ev_in_force_since": ("生效於", "in force since"), "ev_level": ("層級", "level"),
    "ev_window_days": ("觀察期", "observed"), "ev_rank": ("排名", "rank"),
    "ev_previous_applications": ("上期申請量", "applications before"), "ev_change": ("增減", "change"),
    "ev_change_ratio": ("增減率", "change rate"), "ev_satisfaction_rate": ("滿意率", "satisfaction rate"),
    "ev_avg_handling_hours": ("平均辦理時長", "average handling time"),
    "ev_lower_level_peers": ("辦得不差的下級區劃", "lower levels doing no worse"), "ev_applicants": ("申請人總數", "applicants in all"),
    "hours": ("小時", " h"),
    "legal_basis": ("設定依據", "Legal basis"), "month_col": ("月份", "Month"),
    "part_unit": ("機構", "unit"), "part_body": ("內設機構", "body"), "part_duty": ("職責", "duty"),
    "part_quota": ("編制", "quota"), "part_posts": ("領導職數", "posts"), "part_staff": ("人員", "staff"),
    "f_quota_kind": ("編制類型", "quota kind"), "f_approved": ("核定", "approved"), "f_actual": ("實有", "actual"),
    "f_over": ("超出", "over"), "f_post_level": ("職級", "post level"), "f_posts_approved": ("核定職數", "posts approved"),
    "f_posts_held": ("實配職數", "posts held"), "f_doc_no": ("文號", "document"), "f_why": ("原因", "why"),
    "f_item_code": ("事項", "item"), "f_received": ("收件", "received"), "f_on_time_rate": ("按時辦結率", "on-time rate"),
    "f_other_unit_code": ("另一單位", "other unit"), "f_score": ("相似度", "similarity"), "f_persons": ("人數", "people"),
    "why_no_doc": ("無批准文號", "no approving document"), "why_doc_unknown": ("文號不在文件庫", "the document is not in the archive"),
    "size": ("大小（字節）", "Size (bytes)"), "period_from": ("起始日", "First day"),
    "period_last": ("截止日（含）", "Last day (included)"), "new_evaluation": ("發起評估", "Start an evaluation"),
    "indicator": ("指標", "Indicator"), "note": ("說明", "Note"), "give_score": ("錄入評分", "Give the score"),
    "working_days": ("期限（工作日）", "Working days"), "new_task": ("開啟整改任務", "Open a rectification task"),
    "calendar_missing": ("{0}年的節假日安排未加載：期限按週一至週五計算，節假日也算作工作日",
                         "No holiday arrangement loaded for {0}: deadlines count Monday to Friday, holidays included"
                         " (shenpi calendar load)"),
    "rule_calendar_not_loaded": ("節假日安排未加載", "holiday arrangement not loaded"), "year": ("年份", "Year"),
    "item_by_name": ("事項名稱或編碼", "Item (name or code)"),
    "department_by_name": ("部門名稱或編碼", "Department (name or code)"),
    "compare_note": ("輸入一個事項或一個部門（名稱或編碼），比較各區劃的辦理情況", "Give an item or a department (by name or"
                     " code) to compare the regions"),
    "regions_by_name": ("實施區劃（名稱或編碼，逗號分隔）", "Regions (names or codes, comma-separated)"),
    "person": ("姓名", "Name"), "cases_behind": ("對應辦件", "cases behind it"),
    "counts_items": ("此項統計的是清單事項，不是辦件：見權責清單", "This figure counts items on the list, not cases:"
                     " see the power list"),
    "sheets": ("表格導入", "Workbooks"), "workbook": ("表格文件", "Workbook"), "upload_check": ("上傳並核對", "Upload and check"),
    "download_xlsx": ("下載 Excel", "Download Excel"), "roster_sheet": ("實名制人員名冊", "Real-name roster"),
    "row": ("行", "Row"), "column": ("列", "Column"),
    "rows_accepted": ("接受", "accepted"), "rows_unchanged": ("無變化", "unchanged"), "rows_refused": ("拒絕", "refused"),
    "staff_in": ("入編", "in"), "staff_out": ("出編", "out"), "staff_moved": ("調動", "moved"),
    "sheet_list_note": ("清單應有的樣子：與現行清單比對，生成新增、變更、取消的草稿，經另一位清單管理員批准後生效",
                        "The list as it should be: compared with the list in force it yields drafts (added, modified,"
                        " cancelled) that take effect when another list administrator approves them"),
    "sheet_roster_note": ("單位在該日的實有人員：與編制數據比對，生成入編、出編、調動的提議；身份證號即時加密，不保存不顯示",
                          "The unit's staff on that date: compared with the staffing data it yields a proposal of"
                          " staff in, out and moved; identity numbers are hashed at once, never kept or shown"),
    "sheet_to_drafts": ("前往草稿審批", "Go to the drafts"),
    "candidate_note": ("帶 * 的為待研判線索（缺位、越位、不到位），需人工判斷", "Kinds marked * are candidates for"
                       " people to judge"),
}


LANGS = ("zh", "zh-Hant", "en")  # simplified Chinese (the default: the users' script), traditional, English
HTML_LANG = {"zh": "zh-CN", "zh-Hant": "zh-Hant", "en": "en"}
LANG_NAMES = {"zh": "简体", "zh-Hant": "繁體", "en": "English"}


def script(text: str, lang: str) -> str:
    """Chinese written here in traditional characters, shown in the reader's script (OpenCC's conversion)."""
    return to_simplified(text) if lang == "zh" else text


def say(words: dict[str, tuple[str, str]], key: str, lang: str) -> str:
    """A word of a (traditional, English) table in the page's language: a page's own table, or the console's."""
    zh, en = words[key]
    return en if lang == "en" else script(zh, lang)


def t(key: str, lang: str) -> str:
    return say(WORDS, key, lang)


def label(indicator: str, lang: str) -> str:
    """An indicator's name; a duration's with its unit (hours)."""
    ind = BY_KEY[indicator]
    name = ind.en if lang == "en" else script(ind.zh, lang)
    if not indicator.endswith("_hours"):
        return name
    return name if lang == "en" else f"{name}（{t('hours', lang)}）"


# the reasons the engine and the API give (in English, their interface), said to a person in the page's language
_REASONS = (
    (r"task \d+ is (\w+): (\w+) needs it .*", "任務當前為「{0}」，不能{1}", "The task is {0}: it cannot be {1} now"),
    (r".* submitted task \d+: another person must (\w+) it.*", "提交人不能自己{0}：須由另一人辦理（雙人規則）",
     "Whoever submitted it may not {0} it: another person must (two-person rule)"),
    (r"return: give the reason", "退回須說明理由", "Give the reason for returning it"),
    (r"submit: give evidence.*", "提交須附整改材料（文字或文件）", "Give the evidence (a text or files)"),
    (r"two-person rule: .*", "草稿須由另一名清單管理員批准或駁回（雙人規則）",
     "Another list administrator approves or rejects a draft (two-person rule)"),
    (r"draft .* is already (\w+)", "草稿已{0}", "The draft is already {0}"),
    (r"a rejection needs a reason", "駁回須說明理由", "Give the reason for rejecting it"),
    (r"not allowed for the role .*|.* may not \w+", "您的角色無權執行此操作", "Your role may not do this"),
    (r"this is for callers who see every region", "僅限可查看全部區劃的用戶", "Only for those who see every region"),
    (r"CSRF token .*", "頁面已過期，請刷新後重試", "The page has expired: reload it and try again"),
    (r".*outside your (scope|regions).*", "不在您的可見範圍內", "Outside your scope"),
    (r"the period is empty.*", "截止日須不早於起始日", "The last day must not come before the first"),
    (r"unit .* stood neither at the period's start nor at its end", "該單位在評估期首尾均不存在",
     "The unit stood neither at the period's start nor at its end"),
    (r"file .*: accepted types are .*", "文件類型不受理：限PDF、圖片、文字處理文檔、電子表格、純文本",
     "Accepted files: PDF, images, Word, Excel, plain text"),
    (r"file .*: \d+ bytes, more than .*", "文件過大", "The file is too large"),
    (r"file .*: its content is not .*|file .*: a \.txt file must be UTF-8 text", "文件內容與類型不符",
     "The file's content does not match its type"),
    (r"(item|department|unit|region): no such .*", "找不到該{0}", "No such {0}"),
    (r"(item|department|unit|region): several .*", "有多個同名的{0}：請輸入編碼", "Several have that name: give the {0}'s code"),
)
_STATE_WORDS = {"start": "開始整改", "submit": "提交", "verify": "驗證", "return": "退回", "close": "銷號",
                "draft": "待審", "rejected": "駁回", "published": "發布"}


def reason(text: str, lang: str) -> str:
    """An error's reason in the reader's language; "" where there is no wording for it on a Chinese page (the page's
    title says what happened, and no English reaches a Chinese reader)."""
    import re

    for pattern, zh, en in _REASONS:
        m = re.fullmatch(pattern, text.strip(), re.S)
        if m:
            if lang == "en":
                return en.format(*m.groups())
            words = [t("state_" + g, lang) if "state_" + g in WORDS else t(g, lang) if g in ("item", "department", "unit", "region")
                     else script(_STATE_WORDS.get(g, g), lang) for g in m.groups()]
            return script(zh.format(*words), lang)
    return text if lang == "en" or not re.search(r"[A-Za-z]{2,}", text) else ""
