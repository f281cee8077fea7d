DELETE FROM rejection WHERE file_id = ?1
