"""The scorecards Tenure ships, written in the same TOML a user loads with `health scorecards load`.

Each `[[scorecard]]` applies to the accounts its `applies_to` selects (lifecycle stages
onboarding / adoption / renewal, and optionally a rule segment); the first match by ascending
`priority` wins, and a scorecard without conditions catches everyone else. A measure is scored
0–100 by `thresholds` (value → score points, linear between them, flat beyond) or by
`percentile` rank within the day's population. Tiers give each tier's upper bound.
"""

DEFAULT_SCORECARDS_TOML = """
[[scorecard]]
name = "onboarding"
description = "First 90 days: are the users in and is the product set up?"
priority = 10
applies_to = { lifecycle = ["onboarding"] }

  [[scorecard.measure]]
  name = "usage_breadth"
  weight = 25
  thresholds = [[0, 0], [1, 20], [3, 60], [5, 90], [6, 100]]

  [[scorecard.measure]]
  name = "login_recency"
  weight = 25
  thresholds = [[0, 100], [3, 90], [7, 60], [14, 30], [30, 0]]

  [[scorecard.measure]]
  name = "seat_utilisation"
  weight = 25
  thresholds = [[0, 0], [0.2, 30], [0.5, 70], [0.8, 100]]

  [[scorecard.measure]]
  name = "support_load"
  weight = 10
  thresholds = [[0, 100], [2, 70], [5, 30], [10, 0]]

  [[scorecard.measure]]
  name = "billing_health"
  weight = 15
  thresholds = [[0, 100], [1, 50], [2, 20], [3, 0]]

[[scorecard]]
name = "renewal"
description = "Within 60 days of an annual renewal: sentiment, support and risk weigh most."
priority = 20
applies_to = { lifecycle = ["renewal"] }

  [[scorecard.measure]]
  name = "usage_depth"
  weight = 15
  percentile = true

  [[scorecard.measure]]
  name = "usage_trend"
  weight = 15
  thresholds = [[-0.5, 0], [-0.2, 40], [0, 70], [0.2, 100]]

  [[scorecard.measure]]
  name = "nps"
  weight = 15
  thresholds = [[0, 0], [6, 40], [7, 60], [9, 90], [10, 100]]

  [[scorecard.measure]]
  name = "csat"
  weight = 10
  thresholds = [[1, 0], [3, 40], [4, 75], [5, 100]]

  [[scorecard.measure]]
  name = "support_load"
  weight = 10
  thresholds = [[0, 100], [2, 70], [5, 30], [10, 0]]

  [[scorecard.measure]]
  name = "billing_health"
  weight = 15
  thresholds = [[0, 100], [1, 50], [2, 20], [3, 0]]

  [[scorecard.measure]]
  name = "churn_probability"
  weight = 20
  thresholds = [[0, 100], [0.1, 80], [0.3, 50], [0.6, 20], [1, 0]]

[[scorecard]]
name = "standard"
description = "Adopted accounts: depth, breadth and trend of use, seats, support, billing, risk."
priority = 100

  [[scorecard.measure]]
  name = "usage_depth"
  weight = 15
  percentile = true

  [[scorecard.measure]]
  name = "usage_breadth"
  weight = 10
  thresholds = [[0, 0], [1, 20], [3, 60], [5, 90], [6, 100]]

  [[scorecard.measure]]
  name = "login_recency"
  weight = 15
  thresholds = [[0, 100], [3, 90], [7, 60], [14, 30], [30, 0]]

  [[scorecard.measure]]
  name = "seat_utilisation"
  weight = 10
  thresholds = [[0, 0], [0.2, 30], [0.5, 70], [0.8, 100]]

  [[scorecard.measure]]
  name = "usage_trend"
  weight = 10
  thresholds = [[-0.5, 0], [-0.2, 40], [0, 70], [0.2, 100]]

  [[scorecard.measure]]
  name = "support_load"
  weight = 5
  thresholds = [[0, 100], [2, 70], [5, 30], [10, 0]]

  [[scorecard.measure]]
  name = "csat"
  weight = 5
  thresholds = [[1, 0], [3, 40], [4, 75], [5, 100]]

  [[scorecard.measure]]
  name = "nps"
  weight = 5
  thresholds = [[0, 0], [6, 40], [7, 60], [9, 90], [10, 100]]

  [[scorecard.measure]]
  name = "billing_health"
  weight = 10
  thresholds = [[0, 100], [1, 50], [2, 20], [3, 0]]

  [[scorecard.measure]]
  name = "churn_probability"
  weight = 15
  thresholds = [[0, 100], [0.1, 80], [0.3, 50], [0.6, 20], [1, 0]]
"""
