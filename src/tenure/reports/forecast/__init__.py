"""MRR, customer and logo-churn forecasts with prediction intervals and their backtest."""
