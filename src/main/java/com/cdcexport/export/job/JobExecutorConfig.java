package com.cdcexport.export.job;

import org.springframework.beans.factory.annotation.Value;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.DependsOn;
import org.springframework.scheduling.concurrent.ThreadPoolTaskExecutor;

import com.cdcexport.config.CdcProperties;

@Configuration(proxyBeanMethods = false)
class JobExecutorConfig {

    /**
     * The threads that run exports: a fixed number, fed by {@link JobDispatcher}.
     * Depending on the database beans makes the context shut this down first, so exports finishing during the
     * shutdown grace period still have their connections and their commit.
     */
    @Bean
    @DependsOn({"dataSource", "entityManagerFactory"})
    ThreadPoolTaskExecutor exportExecutor(CdcProperties properties,
                                          @Value("${spring.lifecycle.timeout-per-shutdown-phase:30s}")
                                          java.time.Duration shutdownGrace) {
        ThreadPoolTaskExecutor executor = new ThreadPoolTaskExecutor();
        executor.setThreadNamePrefix("export-");
        executor.setCorePoolSize(properties.jobs().workers());
        executor.setMaxPoolSize(properties.jobs().workers());
        // The dispatcher hands over a job only while it holds one of `workers` permits; the small queue just absorbs
        // the moment between a task releasing its permit and its thread becoming idle.
        executor.setQueueCapacity(properties.jobs().workers());
        // On SIGTERM, running exports get the grace period to finish; anything cut off is cleaned up at next start.
        executor.setWaitForTasksToCompleteOnShutdown(true);
        executor.setAwaitTerminationMillis(shutdownGrace.toMillis());
        return executor;
    }
}
