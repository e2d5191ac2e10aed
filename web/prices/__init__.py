"""The price list (unit prices, products, promo codes): kept at the hub, or by a campus with none."""
