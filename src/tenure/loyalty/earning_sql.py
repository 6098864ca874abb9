"""The DuckDB queries of the window earning: flag capped pairs, match events, apply caps.

`FLAG_SQL` (`FLAG_TEMPLATE` over any events relation) counts, per (account, rule) of a capped rule without a cool-down, its events per
month and in total (integers only, a hash aggregate) and returns the pairs a cap may bind for:
a month's count plus what that month already earned above `max_per_month`, or the total plus
the earnings so far above the lifetime cap. Every other pair keeps all its events.
`MATCH_SQL` reads the member events every event rule matches once, with the pair's flag.
`CAPPED_SQL` applies the caps exactly (window functions, first events by time then message id)
to the flagged pairs' events only.
"""

from __future__ import annotations

from tenure.warehouse.catalog import EVENTS

MONTH = "date_trunc('month', make_timestamp({us}))"  # UTC month, without time-zone arithmetic

FLAG_TEMPLATE = f"""
WITH counts AS (
    SELECT e.account_id, r.idx AS rule_idx, r.rule, r.cap_total, r.cap_month,
           {MONTH.format(us="epoch_us(e.ts)")} AS month, count(*) AS n
    FROM {{events}} e JOIN loyalty_rules r ON r.event = e.name AND r.cooldown_days = 0
      AND (r.cap_total IS NOT NULL OR r.cap_month IS NOT NULL)
    WHERE e.ts >= $start AND e.ts < $end
      AND e.account_id IN (SELECT account_id FROM loyalty_members)
    GROUP BY ALL
)
SELECT c.account_id, c.rule_idx
FROM counts c LEFT JOIN loyalty_history h ON h.account_id = c.account_id AND h.rule = c.rule
GROUP BY c.account_id, c.rule_idx, c.cap_total, h.n_total
HAVING coalesce(h.n_total, 0) + sum(c.n) > c.cap_total
    OR bool_or(c.n + CASE WHEN c.month = $first_month THEN coalesce(h.n_month, 0) ELSE 0 END
               > c.cap_month)
"""
MATCH_TEMPLATE = """
SELECT e.account_id, r.idx AS rule_idx, epoch_us(e.ts) AS ts_us, e.message_id,
       r.cooldown_days > 0 AS cool, f.rule_idx IS NOT NULL AS flagged
FROM {events} e JOIN loyalty_rules r ON r.event = e.name
LEFT JOIN loyalty_flagged f ON f.account_id = e.account_id AND f.rule_idx = r.idx
WHERE e.ts >= $start AND e.ts < $end
  AND e.account_id IN (SELECT account_id FROM loyalty_members)
"""
FLAG_SQL = FLAG_TEMPLATE.format(events=EVENTS)
MATCH_SQL = MATCH_TEMPLATE.format(events=EVENTS)
CAPPED_SQL = f"""
WITH ev AS (
    SELECT c.message_id, c.account_id, c.ts_us, c.rule_idx, r.rule, r.cap_total, r.cap_month,
           {MONTH.format(us="c.ts_us")} AS month,
           coalesce(h.n_total, 0) AS n_total, coalesce(h.n_month, 0) AS n_month
    FROM loyalty_capped_events c JOIN loyalty_rules r ON r.idx = c.rule_idx
    LEFT JOIN loyalty_history h ON h.account_id = c.account_id AND h.rule = r.rule
    WHERE r.cap_total IS NULL OR coalesce(h.n_total, 0) < r.cap_total
), in_month AS (
    SELECT * FROM ev WHERE cap_month IS NULL
    UNION ALL
    SELECT * FROM ev WHERE cap_month IS NOT NULL
    QUALIFY (CASE WHEN month = $first_month THEN n_month ELSE 0 END) + row_number() OVER (
        PARTITION BY account_id, rule, month ORDER BY ts_us, message_id) <= cap_month
)
SELECT account_id, rule_idx, message_id, ts_us FROM in_month WHERE cap_total IS NULL
UNION ALL
SELECT account_id, rule_idx, message_id, ts_us FROM in_month WHERE cap_total IS NOT NULL
QUALIFY n_total + row_number() OVER (
    PARTITION BY account_id, rule ORDER BY ts_us, message_id) <= cap_total
"""
