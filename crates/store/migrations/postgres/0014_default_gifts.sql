-- A small gift catalogue for a fresh install, so that the gift bar is not empty on the
-- first day: six gifts from 1 to 1314 coins, their icons inside the binary
-- (/assets/gifts/). Operators edit or retire them in the console like any other gift.
-- Added only where the catalogue is empty: an install that already has gifts keeps
-- exactly the ones it has.
INSERT INTO gifts (name, price_coins, icon_url, kind, sort, active, created_at, updated_at)
SELECT name, price_coins, icon_url, kind, sort, 1, CAST(EXTRACT(EPOCH FROM now()) * 1000 AS BIGINT), CAST(EXTRACT(EPOCH FROM now()) * 1000 AS BIGINT)
FROM (
    SELECT 'Thumbs up' AS name, 1 AS price_coins, '/assets/gifts/thumbs-up.svg' AS icon_url,
           'normal' AS kind, 10 AS sort
    UNION ALL SELECT 'Lollipop', 5, '/assets/gifts/lollipop.svg', 'normal', 20
    UNION ALL SELECT 'Bouquet', 52, '/assets/gifts/bouquet.svg', 'normal', 30
    UNION ALL SELECT 'Fireworks', 199, '/assets/gifts/fireworks.svg', 'normal', 40
    UNION ALL SELECT 'Sports car', 520, '/assets/gifts/sports-car.svg', 'normal', 50
    UNION ALL SELECT 'Castle', 1314, '/assets/gifts/castle.svg', 'normal', 60
) AS defaults
WHERE NOT EXISTS (SELECT 1 FROM gifts);
