-- 0016: the records at the watermark read already (their Ids, a JSON
-- array: a poll asks for the records at the watermark again and skips
-- them), and the write-backs of refused changes to try again (a JSON
-- object of external id to failed attempts); '' for none.
ALTER TABLE sync_watermarks
    ADD COLUMN seen text NOT NULL DEFAULT '',
    ADD COLUMN write_back text NOT NULL DEFAULT '';
