"""Reports: forecasts, customer lifetime value, ROI, risks and the success scorecard."""
