// Labels and number formats for the wallboard and the lead console.
//
// The catalog between the two marker lines is strict JSON: the server reads the same object to
// render the page's first paint in the right language (app/api/pages.py), so keep keys quoted
// and no trailing commas. Chinese is the default; every key exists in both languages.

// catalog:begin
const CATALOG = {
  "zh": {
    "app": "电销进度看板",
    "wallboard_title": "电销战报",
    "lead_title": "组长控制台",
    "floor": "全场",
    "all_teams": "全部小组",
    "team": "小组",
    "teams": "各组进度",
    "rep": "坐席",
    "rank": "名次",
    "dials": "通次",
    "connects": "接通数",
    "talk_seconds": "通时",
    "orders": "单数",
    "invites": "邀约",
    "revenue": "业绩",
    "leads_dialled": "拨打名单",
    "leads_connected": "接通名单",
    "inbound_calls": "呼入",
    "inbound_connects": "呼入接通",
    "connect_orders": "接通成单",
    "unresolved_title": "未识别坐席",
    "unresolved_summary": "{calls} 通来自 {agents} 个未识别坐席",
    "unresolved_unnamed": "另有 {calls} 通的坐席位置是电话号码（不显示）",
    "unresolved_hint": "把这些分机或工号加到名册里的坐席，通话会归到该坐席；在此之前不上大屏、不计目标。",
    "unresolved_calls": "通话",
    "extension": "分机/工号",
    "unresolved_last": "最近一通",
    "contact_rate": "接触率",
    "connected_leads": "接通数",
    "turnover": "周转次数",
    "avg_talk_per_dial": "平均通时",
    "success_rate": "接触成功率",
    "avg_order_value": "件均保费",
    "target": "目标",
    "stretch": "冲刺",
    "stretch_share": "每小时冲刺",
    "expected": "应达",
    "pace": "进度",
    "needed_per_hour": "每小时需",
    "projection": "预计",
    "no_target": "未设目标",
    "week": "本周",
    "month": "本月",
    "today": "今日",
    "status_green": "达标",
    "status_amber": "接近",
    "status_red": "落后",
    "leaderboard": "排行榜",
    "behind": "进度落后",
    "nobody_behind": "暂无落后坐席",
    "more": "另有 {n} 人",
    "hourly": "每小时通次",
    "hourly_metric": "每小时{metric}",
    "actual": "实际",
    "target_share": "每小时目标",
    "hour": "{h}点",
    "per_hour": "/小时",
    "celebrate": "开单啦!",
    "celebrate_orders": "{n} 单",
    "conn_live": "实时",
    "conn_connecting": "正在连接…",
    "conn_reconnecting": "重新连接中…",
    "conn_offline": "网络断开",
    "token_invalid": "令牌无效或已撤销,请检查链接",
    "token_forbidden": "该令牌无权查看",
    "no_data": "暂无数据",
    "last_dial": "最后拨号",
    "agent_state": "状态",
    "state_time": "状态时长",
    "occupancy": "占用率",
    "state_logged_out": "离线",
    "state_available": "空闲",
    "state_ringing": "振铃",
    "state_on_call": "通话中",
    "state_wrap_up": "话后",
    "state_paused": "暂停",
    "state_unknown": "—",
    "not_in": "未到岗",
    "attendance": "考勤",
    "rep_target": "今日目标",
    "last_plan": "上次改进计划",
    "plan_done": "已完成",
    "plan_not_done": "未完成",
    "plan_open": "待跟进",
    "problem": "员工问题",
    "plan": "改进计划",
    "plan_save": "保存计划",
    "att_present": "出勤",
    "att_half_day_am": "上午请假",
    "att_half_day_pm": "下午请假",
    "att_note": "备注",
    "att_save": "保存",
    "att_saved": "已保存",
    "pinned": "组长指定",
    "att_leave": "请假",
    "att_half_day": "半天",
    "att_sick": "病假",
    "att_absent": "缺勤",
    "states_on_call": "通话",
    "states_available": "空闲",
    "states_paused": "暂停",
    "states_logged_out": "离线",
    "tier": "分层",
    "tier_top": "绩优",
    "tier_core": "中坚",
    "tier_laggard": "落后",
    "tier_new": "新人",
    "new_hire": "新人",
    "mentoring": "师徒结对",
    "mentor": "师傅",
    "mentee": "徒弟",
    "no_pairs": "暂无结对",
    "tiers": "分层与结对",
    "alerts": "预警",
    "no_alerts": "今日暂无预警",
    "alert_behind_pace": "进度落后",
    "alert_recovered": "已恢复",
    "alert_idle": "长时间未拨号",
    "alert_paused_long": "暂停超时",
    "alert_not_in": "未到岗",
    "not_in_by": "{by} 仍未登录",
    "paused_for": "{reason}暂停 {n} 分钟(上限 {limit})",
    "resolved": "已自动关闭",
    "idle_for": "{n} 分钟未拨号",
    "alert_at": "触发时",
    "ack": "确认处理",
    "ack_by": "处理人",
    "ack_note": "处理说明",
    "acked": "已处理",
    "ack_failed": "提交失败",
    "ack_by_placeholder": "如:组长 王",
    "ack_note_placeholder": "做了什么",
    "load_failed": "加载失败",
    "funnel": "漏斗",
    "diagnosis": "诊断",
    "no_diagnosis": "无明显短板",
    "select_rep": "点击坐席查看每小时明细、漏斗与诊断",
    "team_value": "组内",
    "report": "夕会日报",
    "report_weekly": "周报",
    "report_monthly": "月报",
    "reports": "报表",
    "code": "工号",
    "name": "姓名",
    "target_of": "{metric}目标",
    "attainment_of": "{metric}达成率",
    "projection_of": "{metric}预计",
    "attainment_on": "{day}",
    "hours_behind": "落后小时数",
    "alerts_raised": "预警次数",
    "alert_notes": "预警与处理",
    "subtotal": "{team} 小计",
    "floor_total": "全场合计",
    "problems": "员工问题",
    "plan": "整改方案",
    "note_title": "问题与整改",
    "note_updated_by": "填写人",
    "note_meta": "{by} 更新于 {at}",
    "note_save": "保存",
    "note_saved": "已保存",
    "note_save_failed": "保存失败",
    "note_empty": "尚未填写",
    "invites_of_week": "{week} 邀约",
    "invites_week_target": "每周邀约目标",
    "weekly_invites": "每周邀约",
    "months_under": "连续未达标月数",
    "review": "考核复核",
    "review_flag": "连续 {n} 个月未达标",
    "review_title": "连续未达标(需复核)",
    "nobody_flagged": "无人连续 {n} 个月未达标",
    "download_csv": "下载 CSV",
    "download_xlsx": "下载 Excel",
    "print": "打印",
    "prev": "上一期",
    "next": "下一期",
    "as_of": "截至 {at}",
    "chart_attainment": "{metric}达成率",
    "chart_hourly": "全场每小时{metric}",
    "chart_heatmap": "每日{metric}达成率",
    "chart_period": "{metric}:累计、预计与目标",
    "heatmap_metric": "指标",
    "met": "达成",
    "missed": "未达成",
    "no_reps": "暂无坐席",
    "day_field": "日期",
    "month_to_date": "月累计",
    "week_to_date": "周累计",
    "hours_unit": "小时",
    "minutes_unit": "分钟",
    "seconds_unit": "秒",
    "unauthorized_title": "需要有效的读取令牌",
    "unauthorized_body": "链接中缺少令牌,或令牌无效、已撤销。请向管理员索取读取令牌(paceboard token create --scope read),然后打开 /wallboard?token=<令牌> 或 /lead?token=<令牌>。",
    "forbidden_title": "令牌权限不足",
    "forbidden_body": "该令牌没有读取权限。请使用读取令牌(scope read)。",
    "sign_in": "登录",
    "sign_out": "退出登录",
    "username": "用户名",
    "password": "密码",
    "password_again": "再次输入密码",
    "other_lang": "English",
    "form_expired_title": "表单已过期",
    "form_expired": "表单已过期或在其他标签页中打开过,请重新提交。",
    "logout_refused": "退出请求缺少有效的校验码。请刷新控制台页面后再点“退出登录”。",
    "login_wrong": "用户名或密码错误",
    "login_locked": "登录失败次数过多,账号已锁定,请 {n} 分钟后再试",
    "login_too_many": "此地址登录失败次数过多,请 {n} 分钟后再试",
    "too_many_title": "尝试次数过多",
    "too_many_body": "此地址失败次数过多,请稍后再试。",
    "setup_title": "创建第一个管理员",
    "setup_intro": "这是首次运行的一次性链接。创建管理员后,其他用户由管理员添加(paceboard user create)。",
    "setup_create": "创建管理员并登录",
    "setup_invalid_title": "设置链接无效",
    "setup_invalid_body": "该设置链接未知、已使用或已过期,或系统中已有用户。重新启动 paceboard serve 会在没有用户时打印新链接;已有用户请直接登录。",
    "setup_mismatch": "两次输入的密码不一致",
    "setup_password_hint": "密码至少 {n} 个字符",
    "setup_username_bad": "用户名为 1–64 个字母、数字、点、短横线或下划线(不含空格)",
    "noscript": "此页面需要启用 JavaScript。"
  },
  "en": {
    "app": "Paceboard",
    "wallboard_title": "Floor board",
    "lead_title": "Team lead console",
    "floor": "Floor",
    "all_teams": "All teams",
    "team": "Team",
    "teams": "Teams",
    "rep": "Rep",
    "rank": "#",
    "dials": "Dials",
    "connects": "Connects",
    "talk_seconds": "Talk time",
    "orders": "Orders",
    "invites": "Invites",
    "revenue": "Revenue",
    "leads_dialled": "Leads dialled",
    "leads_connected": "Leads connected",
    "inbound_calls": "Inbound calls",
    "inbound_connects": "Inbound answered",
    "connect_orders": "Orders on connects",
    "unresolved_title": "Unknown agents",
    "unresolved_summary": "{calls} calls from {agents} unknown agents",
    "unresolved_unnamed": "and {calls} calls with a phone number where the agent should be (not shown)",
    "unresolved_hint": "Add these extensions or agent ids to a rep in the roster and their calls move to that rep; until then they are off the TV and outside every target.",
    "unresolved_calls": "Calls",
    "extension": "Extension / agent id",
    "unresolved_last": "Last call",
    "contact_rate": "Contact rate",
    "connected_leads": "Connected leads",
    "turnover": "Turnover",
    "avg_talk_per_dial": "Avg talk per dial",
    "success_rate": "Success rate",
    "avg_order_value": "Avg order value",
    "target": "Target",
    "stretch": "Stretch",
    "stretch_share": "Stretch per hour",
    "expected": "Due now",
    "pace": "Pace",
    "needed_per_hour": "Needed per hour",
    "projection": "Projected",
    "no_target": "No target",
    "week": "This week",
    "month": "This month",
    "today": "Today",
    "status_green": "On pace",
    "status_amber": "Close",
    "status_red": "Behind",
    "leaderboard": "Leaderboard",
    "behind": "Behind pace",
    "nobody_behind": "Nobody is behind",
    "more": "{n} more",
    "hourly": "Dials by hour",
    "hourly_metric": "{metric} by hour",
    "actual": "Actual",
    "target_share": "Hourly target",
    "hour": "{h}:00",
    "per_hour": "/h",
    "celebrate": "New sale!",
    "celebrate_orders": "{n} orders",
    "conn_live": "Live",
    "conn_connecting": "Connecting…",
    "conn_reconnecting": "Reconnecting…",
    "conn_offline": "Network down",
    "token_invalid": "Token invalid or revoked — check the link",
    "token_forbidden": "This token cannot read the floor",
    "no_data": "No figures yet",
    "last_dial": "Last dial",
    "agent_state": "State",
    "state_time": "Time in state",
    "occupancy": "Occupancy",
    "state_logged_out": "Logged out",
    "state_available": "Ready",
    "state_ringing": "Ringing",
    "state_on_call": "On call",
    "state_wrap_up": "Wrap-up",
    "state_paused": "Paused",
    "state_unknown": "—",
    "not_in": "Not in",
    "attendance": "Attendance",
    "rep_target": "Today's target",
    "last_plan": "Last plan",
    "plan_done": "Done",
    "plan_not_done": "Not done",
    "plan_open": "To follow up",
    "problem": "Problem",
    "plan": "Plan",
    "plan_save": "Save plan",
    "att_present": "Present",
    "att_half_day_am": "Morning off",
    "att_half_day_pm": "Afternoon off",
    "att_note": "Note",
    "att_save": "Save",
    "att_saved": "Saved",
    "pinned": "Pinned by the lead",
    "att_leave": "On leave",
    "att_half_day": "Half day",
    "att_sick": "Sick",
    "att_absent": "Absent",
    "states_on_call": "On call",
    "states_available": "Ready",
    "states_paused": "Paused",
    "states_logged_out": "Out",
    "tier": "Tier",
    "tier_top": "Top",
    "tier_core": "Core",
    "tier_laggard": "Laggard",
    "tier_new": "New",
    "new_hire": "New hire",
    "mentoring": "Mentoring pairs",
    "mentor": "Mentor",
    "mentee": "Mentee",
    "no_pairs": "No pairs",
    "tiers": "Tiers and mentoring",
    "alerts": "Alerts",
    "no_alerts": "No alerts today",
    "alert_behind_pace": "Behind pace",
    "alert_recovered": "Recovered",
    "alert_idle": "Idle",
    "alert_paused_long": "Long pause",
    "alert_not_in": "Not in",
    "not_in_by": "not logged in by {by}",
    "paused_for": "{reason} pause for {n} min (limit {limit})",
    "resolved": "Closed by itself",
    "idle_for": "no dial for {n} min",
    "alert_at": "when raised",
    "ack": "Acknowledge",
    "ack_by": "By",
    "ack_note": "What was done",
    "acked": "Acknowledged",
    "ack_failed": "Could not save",
    "ack_by_placeholder": "e.g. lead Wang",
    "ack_note_placeholder": "What was done",
    "load_failed": "Could not load",
    "funnel": "Funnel",
    "diagnosis": "Diagnosis",
    "no_diagnosis": "Nothing stands out",
    "select_rep": "Click a rep for their hours, funnel and diagnosis",
    "team_value": "team",
    "report": "Evening report",
    "report_weekly": "Weekly report",
    "report_monthly": "Monthly report",
    "reports": "Reports",
    "code": "Code",
    "name": "Name",
    "target_of": "{metric} target",
    "attainment_of": "{metric} attainment",
    "projection_of": "{metric} projected",
    "attainment_on": "{day}",
    "hours_behind": "Hours behind pace",
    "alerts_raised": "Alerts",
    "alert_notes": "Alerts and follow-up",
    "subtotal": "{team} subtotal",
    "floor_total": "Floor total",
    "problems": "Problems",
    "plan": "Plan",
    "note_title": "Problems and plan",
    "note_updated_by": "Written by",
    "note_meta": "{by}, updated {at}",
    "note_save": "Save",
    "note_saved": "Saved",
    "note_save_failed": "Could not save",
    "note_empty": "Not written yet",
    "invites_of_week": "Invites {week}",
    "invites_week_target": "Weekly invites target",
    "weekly_invites": "Weekly invites",
    "months_under": "Months under target in a row",
    "review": "Review",
    "review_flag": "{n} months in a row under target",
    "review_title": "Under target month after month (review)",
    "nobody_flagged": "Nobody under target {n} months in a row",
    "download_csv": "Download CSV",
    "download_xlsx": "Download Excel",
    "print": "Print",
    "prev": "Previous",
    "next": "Next",
    "as_of": "as of {at}",
    "chart_attainment": "{metric} attainment",
    "chart_hourly": "Floor {metric} per hour",
    "chart_heatmap": "Daily {metric} attainment",
    "chart_period": "{metric}: to date, projected and target",
    "heatmap_metric": "Metric",
    "met": "met",
    "missed": "missed",
    "no_reps": "No reps",
    "day_field": "Day",
    "month_to_date": "Month to date",
    "week_to_date": "Week to date",
    "hours_unit": "h",
    "minutes_unit": "min",
    "seconds_unit": "s",
    "unauthorized_title": "A valid read token is needed",
    "unauthorized_body": "The link has no token, or its token is invalid or revoked. Ask an admin for a read token (paceboard token create --scope read) and open /wallboard?token=<token> or /lead?token=<token>.",
    "forbidden_title": "This token cannot read the floor",
    "forbidden_body": "The token has no read scope. Use a read token (scope read).",
    "sign_in": "Sign in",
    "sign_out": "Sign out",
    "username": "Username",
    "password": "Password",
    "password_again": "Password again",
    "other_lang": "中文",
    "form_expired_title": "The form has expired",
    "form_expired": "This form expired or was opened in another tab; please submit it again.",
    "logout_refused": "The sign-out request had no valid form token. Reload the console and press Sign out again.",
    "login_wrong": "Wrong username or password",
    "login_locked": "Too many failed sign-ins: the account is locked; try again in {n} minutes",
    "login_too_many": "Too many failed sign-ins from this address; try again in {n} minutes",
    "too_many_title": "Too many attempts",
    "too_many_body": "Too many failed attempts from this address; try again later.",
    "setup_title": "Create the first admin",
    "setup_intro": "This one-time link is for the first run. Once the admin exists, they add everyone else (paceboard user create).",
    "setup_create": "Create the admin and sign in",
    "setup_invalid_title": "This setup link does not work",
    "setup_invalid_body": "The setup link is unknown, used or expired, or users exist already. Restarting paceboard serve prints a new link while there are no users; if there are, sign in.",
    "setup_mismatch": "The two passwords differ",
    "setup_password_hint": "At least {n} characters",
    "setup_username_bad": "1 to 64 letters, digits, dots, dashes or underscores (no spaces)",
    "noscript": "This page needs JavaScript."
  }
};
// catalog:end

export { CATALOG };

/** Labels, number and time formats for one language ("zh" or "en"). */
export function makeI18n(lang) {
  const code = lang === "en" ? "en" : "zh";
  const labels = CATALOG[code];
  const locale = code === "zh" ? "zh-CN" : "en";
  const ints = new Intl.NumberFormat(locale, { maximumFractionDigits: 0 });
  const one = new Intl.NumberFormat(locale, { maximumFractionDigits: 1 });
  const money = new Intl.NumberFormat(locale, {
    minimumFractionDigits: 2,
    maximumFractionDigits: 2,
  });
  const pct = new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 0 });
  const pct1 = new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 1 });
  const num = (v) => typeof v === "number" && Number.isFinite(v);
  const dash = "—";

  const t = (key, vars) => {
    let s = labels[key] ?? CATALOG.zh[key] ?? key;
    if (vars) for (const [k, v] of Object.entries(vars)) s = s.replace(`{${k}}`, String(v));
    return s;
  };

  const duration = (s) => {
    if (!num(s)) return dash;
    if (s >= 3600) return one.format(s / 3600) + " " + t("hours_unit");
    if (s >= 60) return ints.format(Math.round(s / 60)) + " " + t("minutes_unit");
    return ints.format(Math.round(s)) + " " + t("seconds_unit");
  };
  const asMoney = (minor, digits = 2) =>
    num(minor) ? "¥" + money.format(minor / 10 ** digits) : dash;
  const int = (v) => (num(v) ? ints.format(Math.round(v)) : dash);

  return {
    lang: code,
    locale,
    t,
    int,
    dec: (v) => (num(v) ? one.format(v) : dash),
    /** Minor units (fen, cents) as ¥ with 2 decimals. */
    money: asMoney,
    /** A ratio (0.61) as a percentage (61%). */
    pct: (ratio) => (num(ratio) ? pct.format(ratio) : dash),
    /** Talk seconds for reading at a glance: 16.7 h, 58 min, 42 s. */
    duration,
    /** One metric's figure, formatted for its kind (revenue in minor units). */
    metric(name, v, digits = 2) {
      switch (name) {
        case "revenue":
        case "avg_order_value":
          return asMoney(v, digits);
        case "talk_seconds":
          return duration(v);
        case "contact_rate":
        case "success_rate":
          return num(v) ? pct1.format(v) : dash;
        case "avg_talk_per_dial":
          return num(v) ? one.format(v) + " " + t("seconds_unit") : dash;
        case "turnover":
          return num(v) ? one.format(v) : dash;
        default:
          return int(v);
      }
    },
    /** Clock time of an ISO instant in the floor's timezone. */
    time(iso, tz, seconds = false) {
      if (!iso) return dash;
      const d = new Date(iso);
      if (Number.isNaN(d.getTime())) return dash;
      return timeFormat(locale, tz, seconds).format(d);
    },
    /** Put the catalog's text into every [data-i18n] element under root. */
    apply(root = document) {
      for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
    },
  };
}

const timeFormats = new Map();
export function timeFormat(locale, tz, seconds) {
  const key = `${locale}|${tz}|${seconds}`;
  let f = timeFormats.get(key);
  if (!f) {
    const opts = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
    if (seconds) opts.second = "2-digit";
    try {
      f = new Intl.DateTimeFormat(locale, { ...opts, timeZone: tz });
    } catch {
      f = new Intl.DateTimeFormat(locale, opts); // unknown zone: the screen's own clock
    }
    timeFormats.set(key, f);
  }
  return f;
}

/** The hour (0–23) and the date (YYYY-MM-DD) of an instant in the floor's timezone. */
export function floorNow(tz, at = new Date()) {
  let parts;
  try {
    parts = new Intl.DateTimeFormat("en-CA", {
      timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", hourCycle: "h23",
    }).formatToParts(at);
  } catch {
    parts = new Intl.DateTimeFormat("en-CA", {
      year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", hourCycle: "h23",
    }).formatToParts(at);
  }
  const get = (type) => parts.find((p) => p.type === type)?.value;
  return { day: `${get("year")}-${get("month")}-${get("day")}`, hour: Number(get("hour")) % 24 };
}
