"""Canonical customer entities: accounts, contacts, subscriptions, invoices, tickets, surveys."""
