-- 0016: the records at the watermark read already (their Ids, a JSON
-- array: a poll asks for the records at the watermark again and skips
-- them), and the write-backs of refused changes to try again (a JSON
-- object of external id to failed attempts); '' for none.
ALTER TABLE sync_watermarks ADD COLUMN seen TEXT NOT NULL DEFAULT '';
ALTER TABLE sync_watermarks ADD COLUMN write_back TEXT NOT NULL DEFAULT '';
