set(SLUICE_WAREHOUSE_DDL_SOURCES identifier.cpp ddl.cpp table_state.cpp migration.cpp)
