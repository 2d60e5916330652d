-- Append-only projection, plus what each call would have cost without cached tokens
-- (`lake_list_prices`, priced by the export with the store's price book).
SELECT c.*, p.cost_without_cache_usd, CAST(c.ts AS DATE) AS date
FROM llm_calls c
LEFT JOIN lake_list_prices p USING (event_id)
