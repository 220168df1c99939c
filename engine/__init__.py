"""The pure core: tile geometry, masks, seams, game rules, generator providers."""
